/**
 * Mechanical rewrites of the unoptimised LLVM IR of a compiled patch (clang -O0, before -O2 runs).
 *
 * 1. Pointer <-> 64-bit integer conversions become shim calls: `(u64)ptr` yields the kernel address of what
 *    the pointer stands for (a handle's VA, an ERR_PTR sign-extended), `(void *)u64` the pointer for a
 *    kernel address. Conversions to 32-bit integers (`unsigned long` on wasm32) keep the pointer's value,
 *    which the imports that take addresses resolve.
 * 2. Every load or store through a pointer that is not a local variable or a global is preceded by
 *    `__vs_deref(root, address, struct)`: the pointer the access started from, the address it touches and
 *    the struct whose member it reads. WebAssembly has no unmapped page at 0 (a NULL load would read zeros)
 *    and a 32-bit ERR_PTR plus an offset can wrap to a small address, so the check is made on the root:
 *    NULL or an ERR_PTR there is the kernel's oops.
 */
export function rewriteIr(ir: string): string {
  const converted = ir
    .replace(/ptrtoint ptr (%[\w.]+) to i64/g, 'call i64 @__vs_kaddr(ptr $1)')
    .replace(/inttoptr i64 (%[\w.]+) to ptr/g, 'call ptr @__vs_kptr(i64 $1)');
  return instrumentDerefs(converted);
}

const DEFINE = /^define\b/;
const ALLOCA = /^\s*(%[\w.]+) = alloca\b/;
const GEP =
  /^\s*(%[\w.]+) = getelementptr (?:inbounds )?(?:nuw )?(%(?:struct|union)\.\w+|[^,]+), ptr (%[\w.]+|@[\w.]+)/;
const LOAD = /^\s*%[\w.]+ = load (?:volatile )?[^,]+, ptr (%[\w.]+)/;
const STORE = /^\s*store (?:volatile )?.+, ptr (%[\w.]+)(?:, align \d+)?\s*$/;

export function instrumentDerefs(ir: string): string {
  const out: string[] = [];
  const names = new Map<string, string>();
  let local = new Set<string>();
  let derived = new Map<string, { base: string; struct: string }>();
  const rootOf = (v: string): { root: string; struct: string } => {
    let struct = '';
    let cur = v;
    for (let d = derived.get(cur); d !== undefined; d = derived.get(cur)) {
      struct = d.struct;
      cur = d.base;
    }
    return { root: cur, struct };
  };
  for (const line of ir.split('\n')) {
    if (DEFINE.test(line)) {
      local = new Set();
      derived = new Map();
    }
    const alloca = ALLOCA.exec(line);
    if (alloca) local.add(alloca[1]!);
    const gep = GEP.exec(line);
    if (gep) {
      const [, result, type, base] = gep as unknown as [string, string, string, string];
      if (base.startsWith('@') || local.has(base)) local.add(result);
      else derived.set(result, { base, struct: /^%(?:struct|union)\.(\w+)$/.exec(type)?.[1] ?? '' });
    }
    const access = LOAD.exec(line) ?? STORE.exec(line);
    if (access && !local.has(access[1]!)) {
      const { root, struct } = rootOf(access[1]!);
      if (!local.has(root)) {
        const name = struct || '*';
        if (!names.has(name)) names.set(name, `@.vs.struct.${names.size}`);
        out.push(`  call void @__vs_deref(ptr ${root}, ptr ${access[1]!}, ptr ${names.get(name)!})`);
      }
    }
    out.push(line);
  }
  for (const [name, global] of names)
    out.push(`${global} = private unnamed_addr constant [${name.length + 1} x i8] c"${name}\\00", align 1`);
  return out.join('\n');
}
