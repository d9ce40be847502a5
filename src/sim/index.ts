export {
  startApiServer,
  kubeconfigYaml,
  type ApiServer,
  type ApiServerOptions,
  type ObjectRef,
} from "./server.js";
export { Faults, type FailureSpec, type FaultVerb } from "./faults.js";
export {
  generateKubeStashEstate,
  estateCounts,
  goDuration,
  humanSize,
  type EstateCounts,
} from "./synthetic.js";
export { loadSeedFiles, parseManifests, orderForSeeding, SeedError } from "./seed.js";
export type { PatchType } from "./objects.js";
export type { KubeObject, JsonObject, JsonValue } from "./types.js";
