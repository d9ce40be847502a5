/**
 * Checks that need the whole step rather than the next character: constructs that parse but that
 * kubectl would always fail on, or that would silently mean something else under jsonpath-plus.
 */
import type { PathAst, Step } from "./ast.js";
import { fail } from "./errors.js";

export function validatePath(source: string, ast: PathAst): void {
  validateSteps(source, ast.steps);
}

function validateSteps(source: string, steps: readonly Step[]): void {
  for (const step of steps) {
    switch (step.kind) {
      case "field":
      case "descendant":
        // In jsonpath-plus `.length` reads a JavaScript array or string length; Kubernetes has no
        // such accessor. A map key that really is called "length" can still be quoted.
        if (step.bare && step.name === "length") {
          fail(
            source,
            step.pos,
            "'.length' is not a Kubernetes JSONPath accessor (write ['length'] for a key of that name)",
          );
        }
        break;
      case "slice":
        if (step.step !== undefined && step.step <= 0) {
          fail(source, step.pos, `slice step must be > 0 (got ${step.step}); kubectl rejects it`);
        }
        break;
      case "union":
        validateSteps(source, step.parts);
        break;
      case "filter":
        validateSteps(source, step.path);
        if (
          step.test !== undefined &&
          typeof step.test.value === "boolean" &&
          step.test.op !== "==" &&
          step.test.op !== "!="
        ) {
          fail(
            source,
            step.pos,
            `'${step.test.op}' cannot compare booleans (kubectl fails on it): use == or !=`,
          );
        }
        break;
      case "wildcard":
      case "each":
      case "index":
        break;
    }
  }
}
