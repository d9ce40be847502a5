import type { JsonObject } from "./types.js";

/** The `reason` values kube-apiserver uses; clients branch on them, so spell them exactly. */
export type StatusReason =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "BadRequest"
  | "Gone"
  | "Expired"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "UnsupportedMediaType"
  | "TooManyRequests"
  | "InternalError"
  | "Timeout";

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message: string; field?: string }[];
  retryAfterSeconds?: number;
}

/** An error that becomes a Kubernetes `Status` body with the matching HTTP code. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toStatus(): JsonObject {
    return statusBody(this.code, this.reason, this.message, this.details);
  }
}

export function statusBody(
  code: number,
  reason: StatusReason,
  message: string,
  details?: StatusDetails,
): JsonObject {
  const body: JsonObject = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
  if (details) body.details = JSON.parse(JSON.stringify(details)) as JsonObject;
  return body;
}

export function successStatus(details: StatusDetails): JsonObject {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: JSON.parse(JSON.stringify(details)) as JsonObject,
  };
}

/** How kube-apiserver names a resource in messages: `backupsessions.core.kubestash.com` or `pods`. */
export function qualifiedResource(group: string, plural: string): string {
  return group ? `${plural}.${group}` : plural;
}

export const errors = {
  notFound(group: string, plural: string, name: string): ApiError {
    return new ApiError(404, "NotFound", `${qualifiedResource(group, plural)} "${name}" not found`, {
      name,
      group,
      kind: plural,
    });
  },
  alreadyExists(group: string, plural: string, name: string): ApiError {
    return new ApiError(
      409,
      "AlreadyExists",
      `${qualifiedResource(group, plural)} "${name}" already exists`,
      { name, group, kind: plural },
    );
  },
  conflict(group: string, plural: string, name: string, why: string): ApiError {
    return new ApiError(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${qualifiedResource(group, plural)} "${name}": ${why}`,
      { name, group, kind: plural },
    );
  },
  invalid(group: string, kind: string, name: string, causes: { field: string; message: string }[]): ApiError {
    const summary = causes.map((c) => `${c.field}: ${c.message}`).join(", ");
    return new ApiError(
      422,
      "Invalid",
      `${kind}${group ? `.${group}` : ""} "${name}" is invalid: ${summary}`,
      {
        name,
        group,
        kind,
        causes: causes.map((c) => ({ reason: "FieldValueInvalid", message: c.message, field: c.field })),
      },
    );
  },
  badRequest(message: string): ApiError {
    return new ApiError(400, "BadRequest", message);
  },
  expired(message: string): ApiError {
    return new ApiError(410, "Expired", message);
  },
  gone(message: string): ApiError {
    return new ApiError(410, "Gone", message);
  },
  methodNotAllowed(message: string): ApiError {
    return new ApiError(405, "MethodNotAllowed", message);
  },
  unsupportedMediaType(contentType: string): ApiError {
    return new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format: ${contentType}`,
    );
  },
  internal(message: string): ApiError {
    return new ApiError(500, "InternalError", `Internal error occurred: ${message}`);
  },
  tooManyRequests(retryAfterSeconds: number): ApiError {
    return new ApiError(429, "TooManyRequests", "Too many requests, please try again later.", {
      retryAfterSeconds,
    });
  },
};
