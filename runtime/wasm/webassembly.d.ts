/**
 * The part of the WebAssembly JavaScript API that Node 20 provides and viommu-spec uses. The project's
 * `lib` is ES2022 without DOM, where these globals have no declarations.
 */
declare namespace WebAssembly {
  interface ModuleImportDescriptor {
    readonly module: string;
    readonly name: string;
    readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  }
  interface ModuleExportDescriptor {
    readonly name: string;
    readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  }
  class Module {
    constructor(bytes: Uint8Array);
    static imports(module: Module): ModuleImportDescriptor[];
    static exports(module: Module): ModuleExportDescriptor[];
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
  class Global {
    value: number | bigint;
  }
  type ImportValue = (...args: never[]) => number | bigint | void;
  type Imports = Record<string, Record<string, ImportValue>>;
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Record<string, unknown>;
  }
  class RuntimeError extends Error {}
}
