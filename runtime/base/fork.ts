/**
 * Forking a model: a deep copy of an object graph that keeps classes, shared references and cycles, so a
 * sweep can run each failure point from a copy of the machine taken at the point's step instead of
 * replaying every step before it (the run is the same either way: test/check/sweep-fork.test.ts compares
 * every shipped sweep both ways).
 *
 * What is copied: plain and class objects (same prototype, own properties in order), arrays, Maps, Sets,
 * ArrayBuffers and their views (a view keeps sharing its buffer with the other views of the copy). What is
 * shared: primitives, frozen objects (the model's constant tables) and functions marked pure(). An object
 * with a [FORK] method copies itself (simulated memory shares its pages until one side writes). Anything
 * else, a function above all (a closure would go on pointing at the original), makes the graph unforkable:
 * the caller replays instead.
 */

/** Implemented by an object that copies itself: it calls `f.remember(this, copy)` before copying children. */
export const FORK: unique symbol = Symbol('fork');

export interface Forkable {
  [FORK](f: Forker): object;
}

/** The graph holds something a copy cannot reproduce; `path` names where it was found. */
export class UnforkableError extends Error {
  constructor(
    readonly path: string,
    what: string,
  ) {
    super(`cannot fork ${what} at ${path}`);
  }
}

const pureFunctions = new WeakSet<object>();

/**
 * Marks `f` as closing over nothing that changes (a compiled glob, say): a fork shares it. Any other
 * function in a forked graph is an error, since its closure would go on pointing at the original.
 */
export function pure<F extends (...args: never[]) => unknown>(f: F): F {
  pureFunctions.add(f);
  return f;
}

const isForkable = (o: object): o is Forkable => typeof (o as Partial<Forkable>)[FORK] === 'function';

const SHARED_PROTOTYPES = new Set<object | null>([Object.prototype, null]);

export class Forker {
  private readonly copies = new Map<object, object>();
  private readonly path: string[] = [];

  /** Records `copy` as the copy of `original` (for cycles); returns `copy`. */
  remember<T extends object>(original: object, copy: T): T {
    this.copies.set(original, copy);
    return copy;
  }

  copy<T>(value: T, name?: string | number): T {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value;
    const o = value as unknown as object;
    const done = this.copies.get(o);
    if (done !== undefined) return done as T;
    if (name !== undefined) this.path.push(String(name));
    try {
      return this.copyObject(o) as T;
    } finally {
      if (name !== undefined) this.path.pop();
    }
  }

  private copyObject(o: object): object {
    if (typeof o === 'function') {
      if (pureFunctions.has(o)) return o;
      throw this.unforkable('a function');
    }
    if (isForkable(o)) return o[FORK](this);
    if (Object.isFrozen(o) && !ArrayBuffer.isView(o)) return this.remember(o, o);
    // Built-in containers by their own prototypes only: a subclass would lose its class as a plain copy.
    const proto = Object.getPrototypeOf(o) as object | null;
    if (proto === Array.prototype) {
      const c = this.remember(o, new Array<unknown>((o as unknown[]).length));
      const a = o as unknown[];
      for (let i = 0; i < a.length; i++) c[i] = this.copy(a[i], i);
      return c;
    }
    if (proto === Map.prototype) {
      const c = this.remember(o, new Map<unknown, unknown>());
      for (const [k, v] of o as Map<unknown, unknown>) c.set(this.copy(k), this.copy(v, String(k)));
      return c;
    }
    if (proto === Set.prototype) {
      const c = this.remember(o, new Set<unknown>());
      for (const v of o as Set<unknown>) c.add(this.copy(v));
      return c;
    }
    if (proto === ArrayBuffer.prototype) return this.remember(o, (o as ArrayBuffer).slice(0));
    if (ArrayBuffer.isView(o)) {
      const buffer = this.copy(o.buffer as ArrayBuffer);
      const View = o.constructor as new (b: ArrayBuffer, offset: number, length: number) => object;
      const length = o instanceof DataView ? o.byteLength : (o as unknown as { length: number }).length;
      return this.remember(o, new View(buffer, o.byteOffset, length));
    }
    if (!SHARED_PROTOTYPES.has(proto) && !isClassPrototype(proto))
      throw this.unforkable(`a ${o.constructor?.name ?? 'exotic object'}`);
    const keys = Reflect.ownKeys(o);
    for (const key of keys)
      if (typeof key !== 'string' || key === '__proto__' || !('value' in Reflect.getOwnPropertyDescriptor(o, key)!))
        throw this.unforkable(`the property ${String(key)}`);
    return copierOf(proto, keys as string[])(o, this);
  }

  private unforkable(what: string): UnforkableError {
    return new UnforkableError(this.path.join('.') || '(root)', what);
  }
}

type Copier = (o: object, f: Forker) => object;

const copiers = new Map<object | null, Map<string, Copier>>();

/**
 * A copier for objects of `proto` with own properties `keys`, in that order: one store per property by
 * name, made once per shape. V8 keeps an object whose properties come from stores by name in fast mode;
 * stores by computed key turn an object of more than a dozen properties (an IOMMU, its driver struct) into
 * a dictionary, which made every run of a sweep on a forked machine a third slower.
 */
function copierOf(proto: object | null, keys: readonly string[]): Copier {
  let byKeys = copiers.get(proto);
  if (byKeys === undefined) copiers.set(proto, (byKeys = new Map<string, Copier>()));
  const id = keys.join('\0');
  let copier = byKeys.get(id);
  if (copier === undefined) {
    const names = keys.map((k) => JSON.stringify(k));
    const stores = names.map((k) => `c[${k}] = f.copy(o[${k}], ${k});`).join(' ');
    // A plain object is made by a literal of its own keys holding its own values first: the same hidden
    // class as the literal that made the original, so code reading both stays monomorphic.
    const shell =
      proto === Object.prototype ? `{ ${names.map((k) => `${k}: o[${k}]`).join(', ')} }` : 'Object.create(P)';
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- made once per shape, from property names only
    const make = new Function('P', `return (o, f) => { const c = f.remember(o, ${shell}); ${stores} return c; };`);
    byKeys.set(id, (copier = (make as (p: object | null) => Copier)(proto)));
  }
  return copier;
}

/**
 * A prototype made by a `class` declaration of the model (not a built-in with internal slots such as
 * WeakMap, Promise or a WebAssembly instance, which a property copy cannot reproduce).
 */
function isClassPrototype(proto: object | null): boolean {
  if (proto === null) return false;
  let known = classPrototypes.get(proto);
  if (known === undefined) classPrototypes.set(proto, (known = madeByClasses(proto)));
  return known;
}

const classPrototypes = new WeakMap<object, boolean>();

function madeByClasses(proto: object): boolean {
  for (
    let p: object | null = proto;
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p) as object | null
  ) {
    const ctor = (p as { constructor?: unknown }).constructor;
    if (typeof ctor !== 'function' || /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(ctor)))
      return false;
  }
  return true;
}

/** A copy of `root` and everything it reaches; throws UnforkableError if any part cannot be copied. */
export function fork<T extends object>(root: T): T {
  return new Forker().copy(root);
}
