import type { FailureKind } from './points.js';

/** One failure point a run passed: where, which call of that site, and when. */
export interface FailurePoint {
  readonly site: string;
  /** 1-based count of calls to this site so far in the run. */
  readonly call: number;
  /** 1-based count over all sites (the fail-nth numbering). */
  readonly global: number;
  readonly kind: FailureKind;
  readonly step: number;
  /** Allocation order, for page allocations. */
  readonly order?: number;
}

const KINDS: readonly FailureKind[] = ['null', 'errno', 'hang'];
const NO_ORDER = -1;

/**
 * The failure points a run passed, in order, kept as columns: a run keeps every point it passes (sweeps
 * and coverage read them), and an object per point was half the registry's garbage and a tenth of what a
 * mapped table page costs beyond its bytes. A point's object is made when something reads it, once.
 */
export class PassedPoints {
  private readonly siteIds = new Map<string, number>();
  private readonly siteNames: string[] = [];
  private sites = new Int32Array(64);
  private calls = new Int32Array(64);
  private steps = new Int32Array(64);
  private orders = new Int8Array(64);
  private kinds = new Uint8Array(64);
  private count = 0;
  private readonly made: (FailurePoint | undefined)[] = [];

  get length(): number {
    return this.count;
  }

  /** Records a point; returns its global number. */
  add(site: string, call: number, kind: FailureKind, step: number, order: number | undefined): number {
    let id = this.siteIds.get(site);
    if (id === undefined) {
      id = this.siteNames.push(site) - 1;
      this.siteIds.set(site, id);
    }
    if (this.count === this.sites.length) this.grow();
    const i = this.count++;
    this.sites[i] = id;
    this.calls[i] = call;
    this.steps[i] = step;
    this.orders[i] = order ?? NO_ORDER;
    this.kinds[i] = KINDS.indexOf(kind);
    return i + 1;
  }

  /** The point with global number `global` (1-based). */
  get(global: number): FailurePoint {
    const i = global - 1;
    let p = this.made[i];
    if (p === undefined) {
      const order = this.orders[i]!;
      const site = this.siteNames[this.sites[i]!]!;
      const [call, kind, step] = [this.calls[i]!, KINDS[this.kinds[i]!]!, this.steps[i]!];
      p = order === NO_ORDER ? { site, call, global, kind, step } : { site, call, global, kind, step, order };
      this.made[i] = p;
    }
    return p;
  }

  /** The points after the first `skip`, in order. */
  from(skip: number): FailurePoint[] {
    const out: FailurePoint[] = [];
    for (let g = skip + 1; g <= this.count; g++) out.push(this.get(g));
    return out;
  }

  /** Every point, in order. */
  all(): FailurePoint[] {
    return this.from(0);
  }

  /** What the fault plans count a point by, without making its object. */
  siteOf(global: number): string {
    return this.siteNames[this.sites[global - 1]!]!;
  }

  stepOf(global: number): number {
    return this.steps[global - 1]!;
  }

  orderOf(global: number): number | undefined {
    const order = this.orders[global - 1]!;
    return order === NO_ORDER ? undefined : order;
  }

  private grow(): void {
    const size = this.sites.length * 2;
    const widen = <T extends Int32Array | Int8Array | Uint8Array>(a: T, make: new (n: number) => T): T => {
      const b = new make(size);
      b.set(a);
      return b;
    };
    this.sites = widen(this.sites, Int32Array);
    this.calls = widen(this.calls, Int32Array);
    this.steps = widen(this.steps, Int32Array);
    this.orders = widen(this.orders, Int8Array);
    this.kinds = widen(this.kinds, Uint8Array);
  }
}
