import { createRequire } from 'node:module';
import path from 'node:path';
import koffi from 'koffi';

/**
 * The few ONNX Runtime C API functions gpumux calls past onnxruntime-node's binding, through koffi, on the
 * very `libonnxruntime.so.1` the binding loads (same file → dlopen returns the same instance, so the same
 * process-wide OrtEnv). Declarations written from the public header
 * `include/onnxruntime/core/session/onnxruntime_c_api.h` (microsoft/onnxruntime, ORT_API_VERSION 29): `OrtApi`
 * is a struct of function pointers in header order, append-only across releases, so a function is its index
 * in that struct. Only what memory-budget.ts needs; nothing else of ORT is reached this way.
 */

/** The API version asked of `OrtGetApiBase()->GetApi`: the header's; libonnxruntime 1.30 serves ≤ 30. */
const API_VERSION = 29;

/** Index in `struct OrtApi` (0-based, header order) of each function called here. */
const INDEX = {
  GetErrorMessage: 2,
  CreateEnv: 3,
  CreateMemoryInfo: 68,
  CreateCpuMemoryInfo: 69,
  ReleaseStatus: 93,
  ReleaseMemoryInfo: 94,
  CreateAndRegisterAllocator: 144,
  ReleaseArenaCfg: 157,
  CreateArenaCfgV2: 164,
  UnregisterAllocator: 177,
  CreateAndRegisterAllocatorV2: 259,
} as const;
const TABLE_LENGTH = 260;

/** `OrtLoggingLevel` WARNING: only used when this call creates the env (the binding's is returned otherwise). */
const LOG_WARNING = 2;
/** `OrtAllocatorType` / `OrtMemType` values from the header. */
export const ORT_ARENA_ALLOCATOR = 1;
export const ORT_MEM_TYPE_DEFAULT = 0;

type Pointer = bigint;

export interface OrtCApi {
  version: string;
  /** The process's one OrtEnv (the binding's, when it made one first: CreateEnv returns the existing one). */
  env(): Pointer;
  cpuMemoryInfo(): Pointer;
  /** `CreateMemoryInfo(name, OrtArenaAllocator, id, OrtMemTypeDefault)`, e.g. name `Cuda`. */
  memoryInfo(name: string, id: number): Pointer;
  releaseMemoryInfo(info: Pointer): void;
  arenaCfg(entries: Record<string, number>): Pointer;
  releaseArenaCfg(cfg: Pointer): void;
  registerAllocator(env: Pointer, info: Pointer, cfg: Pointer): void;
  registerAllocatorV2(
    env: Pointer,
    provider: string,
    info: Pointer,
    cfg: Pointer,
    options: Record<string, string>,
  ): void;
  /** Removes the env allocator registered for `info`; false when none was (ORT's error swallowed). */
  unregisterAllocator(env: Pointer, info: Pointer): boolean;
}

/** The path of the libonnxruntime.so.1 beside onnxruntime-node's binding (what its RUNPATH $ORIGIN loads). */
export function bindingLibraryPath(): string {
  const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime.so.1');
}

let loaded: OrtCApi | null = null;

/** Loads the C API once per thread (koffi handles are per isolate; the library and OrtEnv are per process). */
export function ortCApi(): OrtCApi {
  loaded ??= load(bindingLibraryPath());
  return loaded;
}

/** The API's function table, bound by name: the one place the C API's prototypes are spelled. */
function load(libraryPath: string): OrtCApi {
  const { version, fn } = openApiTable(libraryPath);
  const { check, out, releaseStatus } = statusHandling(fn);

  const createEnv = fn('CreateEnv', 'void* (int level, const char* logid, _Out_ void** out)');
  const createCpuMemoryInfo = fn('CreateCpuMemoryInfo', 'void* (int type, int memType, _Out_ void** out)');
  const createMemoryInfo = fn(
    'CreateMemoryInfo',
    'void* (const char* name, int type, int id, int memType, _Out_ void** out)',
  );
  const releaseMemoryInfo = fn('ReleaseMemoryInfo', 'void (void* info)');
  const createArenaCfgV2 = fn(
    'CreateArenaCfgV2',
    'void* (const char** keys, size_t* values, size_t count, _Out_ void** out)',
  );
  const releaseArenaCfg = fn('ReleaseArenaCfg', 'void (void* cfg)');
  const createAndRegisterAllocator = fn(
    'CreateAndRegisterAllocator',
    'void* (void* env, void* info, void* cfg)',
  );
  const createAndRegisterAllocatorV2 = fn(
    'CreateAndRegisterAllocatorV2',
    'void* (void* env, const char* provider, void* info, void* cfg, const char** keys, const char** values, size_t count)',
  );
  const unregister = fn('UnregisterAllocator', 'void* (void* env, void* info)');

  let env: Pointer | null = null;
  return {
    version,
    env() {
      env ??= out('CreateEnv', (slot) => createEnv(LOG_WARNING, 'gpumux', slot));
      return env;
    },
    cpuMemoryInfo: () =>
      out('CreateCpuMemoryInfo', (slot) =>
        createCpuMemoryInfo(ORT_ARENA_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, slot),
      ),
    memoryInfo: (name, id) =>
      out('CreateMemoryInfo', (slot) =>
        createMemoryInfo(name, ORT_ARENA_ALLOCATOR, id, ORT_MEM_TYPE_DEFAULT, slot),
      ),
    releaseMemoryInfo: (info) => void releaseMemoryInfo(info),
    arenaCfg(entries) {
      const keys = Object.keys(entries);
      return out('CreateArenaCfgV2', (slot) =>
        createArenaCfgV2(keys, Object.values(entries), keys.length, slot),
      );
    },
    releaseArenaCfg: (cfg) => void releaseArenaCfg(cfg),
    registerAllocator: (e, info, cfg) =>
      check('CreateAndRegisterAllocator', createAndRegisterAllocator(e, info, cfg)),
    registerAllocatorV2(e, provider, info, cfg, options) {
      const keys = Object.keys(options);
      check(
        'CreateAndRegisterAllocatorV2',
        createAndRegisterAllocatorV2(e, provider, info, cfg, keys, Object.values(options), keys.length),
      );
    },
    unregisterAllocator(e, info) {
      const status = unregister(e, info);
      if (!status) return true;
      releaseStatus(status);
      return false;
    },
  };
}

type TableFunction = (name: keyof typeof INDEX, signature: string) => (...args: unknown[]) => unknown;

/** OrtGetApiBase → the version string and the API_VERSION function table, with a caller for its entries. */
function openApiTable(libraryPath: string): { version: string; fn: TableFunction } {
  const lib = koffi.load(libraryPath);
  const ApiBase = koffi.struct({ GetApi: 'void*', GetVersionString: 'void*' });
  const base = koffi.decode(lib.func('void* OrtGetApiBase()')() as Pointer, ApiBase) as {
    GetApi: Pointer;
    GetVersionString: Pointer;
  };
  const version = koffi.call(base.GetVersionString, koffi.proto('const char* ()')) as string;
  const api = koffi.call(base.GetApi, koffi.proto('void* (uint32_t version)'), API_VERSION) as Pointer;
  if (!api) throw new Error(`ONNX Runtime ${version} does not serve C API version ${API_VERSION}`);
  const table = koffi.decode(api, koffi.array('void*', TABLE_LENGTH)) as Pointer[];
  /** `signature` is `<result> (<parameters>)`: the prototype koffi calls the table's pointer with. */
  const fn: TableFunction = (name, signature) => {
    const proto = koffi.proto(signature); // anonymous: a second load in another thread defines no name twice
    const pointer = table[INDEX[name]]!;
    return (...args: unknown[]): unknown => koffi.call(pointer, proto, ...args);
  };
  return { version, fn };
}

/** OrtStatus* handling: `check` throws a failed call's message, `out` returns a call's out-parameter. */
function statusHandling(fn: TableFunction) {
  const getErrorMessage = fn('GetErrorMessage', 'const char* (void* status)');
  const releaseStatus = fn('ReleaseStatus', 'void (void* status)');
  /** An OrtStatus* is null on success; otherwise its message becomes the thrown error's. */
  const check = (what: string, status: unknown): void => {
    if (!status) return;
    const message = getErrorMessage(status) as string;
    releaseStatus(status);
    throw new Error(`ONNX Runtime ${what}: ${message}`);
  };
  const out = (what: string, call: (slot: [Pointer | null]) => unknown): Pointer => {
    const slot: [Pointer | null] = [null];
    check(what, call(slot));
    return slot[0]!;
  };
  return { check, out, releaseStatus };
}
