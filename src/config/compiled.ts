import type { CompiledExpression } from "../expression/index.js";
import type { CompiledPath } from "../jsonpath/index.js";
import type { ConfigSource, Diagnostic, FieldType } from "./types.js";

/**
 * A configuration after validation: every path and expression parsed once, ready to be evaluated
 * against many objects. Invalid metrics are left out (and described in `diagnostics`).
 */

/** A path and whether it reads the current Array row (SPEC §3.2) or the whole object. */
export interface BoundPath {
  readonly source: string;
  readonly path: CompiledPath;
  readonly rowRelative: boolean;
}

export type CompiledLabel =
  | { readonly key: string; readonly kind: "const"; readonly value: string }
  | { readonly key: string; readonly kind: "path"; readonly path: BoundPath };

export type CompiledParam = CompiledLabel;

export type CompiledValue =
  | { readonly kind: "const"; readonly value: number }
  | { readonly kind: "path"; readonly path: BoundPath }
  | { readonly kind: "expression"; readonly expression: CompiledExpression };

export interface CompiledState {
  readonly labelValue: string;
  readonly value: CompiledValue;
}

export interface CompiledMetric {
  /** The configuration's own metric name (suffix). */
  readonly name: string;
  /** Full family name, prefix included. */
  readonly family: string;
  readonly help: string;
  readonly configuration: string;
  readonly field?: { readonly path: CompiledPath; readonly type: FieldType };
  /** commonLabels then metric labels, in precedence order (later wins when it yields a value). */
  readonly labels: readonly CompiledLabel[];
  readonly params: readonly CompiledParam[];
  /** Exactly one of `states` / `value` is set. */
  readonly states?: { readonly labelKey: string; readonly values: readonly CompiledState[] };
  readonly value?: CompiledValue;
}

export interface TargetRef {
  readonly apiVersion: string;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface CompiledConfiguration {
  readonly name: string;
  readonly source: ConfigSource;
  /** Undefined when targetRef itself is invalid: then no metric can be served. */
  readonly target?: TargetRef;
  readonly metrics: readonly CompiledMetric[];
  readonly diagnostics: readonly Diagnostic[];
  /** How many metrics were declared, valid or not (for status reporting). */
  readonly declaredMetrics: number;
}
