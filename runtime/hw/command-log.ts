import { ModelBugError } from '../base/model-bug.js';
import { decodeCommand, type Command, type CommandWords } from './commands.js';
import type { DeviceTableEntry } from './dte.js';
import type { GuestIssue } from './guest-queue.js';
import type { Dropped, IotlbEntry } from './iotlb.js';

export interface ExecutedCommand {
  readonly seq: number;
  readonly step: number;
  /** Byte offset of the command in the ring. */
  readonly offset: number;
  readonly raw: CommandWords;
  readonly command: Command;
  readonly dropped: readonly IotlbEntry[];
  readonly droppedPdes: number;
  /**
   * For INVALIDATE_DEVTAB_ENTRY: the entry in the device table when it executed, which is what the IOMMU
   * fetches from then on (so the end-state checks know which domain IDs and tables each device used when).
   */
  readonly entry?: DeviceTableEntry;
  /** Present for a command a guest issued through its VF page: `command` is then the host form executed. */
  readonly guest?: GuestIssue;
}

/** What few commands carry besides their words: the host form of a guest's command, a DTE, dropped entries. */
interface Extras {
  readonly command: Command | undefined;
  readonly dropped: readonly IotlbEntry[];
  readonly entry: DeviceTableEntry | undefined;
  readonly guest: GuestIssue | undefined;
}

/** Per command: sequence number, step, ring offset, page-directory entries dropped. */
const NUMBERS = 4;
/** Commands per chunk: the log grows by a chunk at a time and never copies. */
const CHUNK = 256;

/**
 * The executed-command log. A run can execute hundreds of thousands of commands and most runs never read the
 * log, so it keeps each command as numbers in typed arrays (its four words as the ring held them; sequence,
 * step, offset, dropped PDEs) and the rest, which few commands have, by index. An entry is built, and a
 * host command decoded again from its words, when the log is read; each once.
 */
export class CommandLog {
  private readonly words: Uint32Array[] = [];
  private readonly numbers: Float64Array[] = [];
  private readonly extras = new Map<number, Extras>();
  private readonly built: ExecutedCommand[] = [];
  private count = 0;

  get length(): number {
    return this.count;
  }

  /**
   * Appends a command. `command`: a guest's, in the host form executed (its words are the guest's own);
   * undefined for a host command, which is its words. `entry`: the DTE an INVALIDATE_DEVTAB_ENTRY left.
   */
  push(
    seq: number,
    step: number,
    offset: number,
    raw: CommandWords,
    dropped: Dropped,
    command: Command | undefined,
    entry: DeviceTableEntry | undefined,
    guest: GuestIssue | undefined,
  ): void {
    const i = this.count++;
    const at = i % CHUNK;
    if (at === 0) {
      this.words.push(new Uint32Array(4 * CHUNK));
      this.numbers.push(new Float64Array(NUMBERS * CHUNK));
    }
    const w = this.words[this.words.length - 1]!;
    w[4 * at] = raw[0];
    w[4 * at + 1] = raw[1];
    w[4 * at + 2] = raw[2];
    w[4 * at + 3] = raw[3];
    const n = this.numbers[this.numbers.length - 1]!;
    n[NUMBERS * at] = seq;
    n[NUMBERS * at + 1] = step;
    n[NUMBERS * at + 2] = offset;
    n[NUMBERS * at + 3] = dropped.pdes;
    if (command || entry || guest || dropped.iotlb.length > 0)
      this.extras.set(i, { command, dropped: dropped.iotlb, entry, guest });
  }

  /** The entries so far, in execution order. */
  entries(): readonly ExecutedCommand[] {
    while (this.built.length < this.count) this.built.push(this.entry(this.built.length));
    return this.built;
  }

  private entry(i: number): ExecutedCommand {
    const at = i % CHUNK;
    const w = this.words[Math.floor(i / CHUNK)]!;
    const n = this.numbers[Math.floor(i / CHUNK)]!;
    const raw: CommandWords = [w[4 * at]!, w[4 * at + 1]!, w[4 * at + 2]!, w[4 * at + 3]!];
    const { command, dropped, entry, guest } = this.extras.get(i) ?? {};
    return {
      seq: n[NUMBERS * at]!,
      step: n[NUMBERS * at + 1]!,
      offset: n[NUMBERS * at + 2]!,
      raw,
      command: command ?? decodeExecuted(raw),
      dropped: dropped ?? [],
      droppedPdes: n[NUMBERS * at + 3]!,
      ...(entry ? { entry } : {}),
      ...(guest ? { guest } : {}),
    };
  }
}

/** A host command's words decode as they did when it executed (decodeCommand is pure). */
function decodeExecuted(raw: CommandWords): Command {
  const d = decodeCommand(raw);
  if (!d.ok) throw new ModelBugError(`executed command ${raw.join(',')} no longer decodes: ${d.reason}`);
  return d.command;
}
