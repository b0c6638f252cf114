import { describe, expect, it } from 'vitest';
import { fork } from '../../runtime/base/fork.js';
import { ModelBugError } from '../../runtime/base/model-bug.js';
import { CallPath } from '../../runtime/fault/inject.js';
import { Restarts } from '../../runtime/linux/restart.js';

/** A walk over `steps` items whose position is the next item: it marks a restart point before each. */
class Walk {
  done: number[] = [];
  constructor(
    private readonly restarts: Restarts,
    private readonly steps: number,
  ) {}
  run(): number {
    const from = this.restarts.take<{ walk: Walk; next: number }>(this)?.next ?? 0;
    for (let i = from; i < this.steps; i++) {
      this.restarts.point({ walk: this, next: i });
      this.done.push(i);
    }
    return this.done.length;
  }
}

/** A machine of the toy walk: what a fork copies, the restart points and the call path included. */
function toyMachine(steps: number): { restarts: Restarts; path: CallPath; walk: Walk } {
  const restarts = new Restarts();
  return { restarts, path: new CallPath(), walk: new Walk(restarts, steps) };
}

describe('restart points (runtime/linux/restart.ts)', () => {
  it('are seen only inside a restartable call with a listener, and a fork taken at one resumes there', () => {
    const machine = toyMachine(4);
    const forks: (typeof machine)[] = [];
    machine.walk.run(); // outside a restartable call: nothing seen
    machine.walk.done = [];
    machine.restarts.listen(() => forks.push(fork(machine)));
    machine.path.enter('outer');
    expect(machine.restarts.run(machine.path, () => machine.walk.run())).toBe(4);
    expect(forks.length).toBe(4);
    const third = forks[2]!;
    // The fork was taken inside the call: its path is the call's, and the restarted call unwinds it first.
    third.path.enter('inner');
    third.restarts.run(third.path, () => third.walk.run());
    expect(third.walk.done).toEqual([0, 1, 2, 3]);
    expect(third.path.siteName('x')).toBe('outer/x');
  });

  it('is a model bug when a restarted call returns without taking its position back', () => {
    const machine = toyMachine(2);
    const forks: (typeof machine)[] = [];
    machine.restarts.listen(() => forks.push(fork(machine)));
    machine.restarts.run(machine.path, () => machine.walk.run());
    const f = forks[0]!;
    expect(() => f.restarts.run(f.path, () => 0)).toThrow(ModelBugError);
  });
});
