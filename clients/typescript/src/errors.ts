/** A call's result as openapi-fetch gives it: `data` on success, `error` (the parsed body) otherwise. */
export interface CallResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The service said no: `status` and the stable `error` code of its JSON body (branch on
 * `error`, not on `message`). A body that is not the service's JSON (a proxy's HTML page, API
 * Gateway's `{"message":"Not Found"}`) gives `error` `http_<status>`.
 */
export class TikTokConnectError extends Error {
  override readonly name = "TikTokConnectError";
  /** The HTTP status. */
  readonly status: number;
  /** The service's error code, e.g. `rate_limited`, `scope_missing`; `http_<status>` without one. */
  readonly error: string;
  /** Seconds to wait before trying again (`429`): the body's `retry_after` or the `Retry-After` header. */
  readonly retryAfter?: number;
  /** `scope_missing` only: the scope to ask for in `GET /tiktok/authorize`. */
  readonly scope?: string;
  /** TikTok's `log_id`, for TikTok support, when TikTok sent one. */
  readonly tiktokLogId?: string;
  /** A posting refusal's `limit_of`: whose limit it is, the creator's (`account`) or the app's (`app`). */
  readonly limitOf?: string;
  /** The error body as received: parsed JSON, the text of a non-JSON body, or undefined when empty. */
  readonly body: unknown;

  constructor(response: Response, body: unknown) {
    const fields = isRecord(body) ? body : {};
    const code = nonEmptyString(fields.error);
    super(
      nonEmptyString(fields.message) ??
        `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`,
    );
    this.status = response.status;
    this.error = code ?? `http_${response.status}`;
    this.retryAfter = seconds(fields.retry_after) ?? retryAfterHeader(response.headers.get("Retry-After"));
    this.scope = nonEmptyString(fields.scope);
    this.tiktokLogId = nonEmptyString(fields.tiktok_log_id);
    this.limitOf = nonEmptyString(fields.limit_of);
    this.body = body;
  }
}

/**
 * The data of a successful call (undefined for a `204`), or a thrown `TikTokConnectError`.
 *
 *     const { accounts } = await unwrap(client.GET("/tiktok/accounts"));
 */
export async function unwrap<T>(call: Promise<CallResult<T>> | CallResult<T>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    throw new TikTokConnectError(response, error);
  }
  // A 204 has no body: openapi-fetch gives `data: undefined`, which is the answer.
  return data as T;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function seconds(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** `Retry-After` is delta-seconds (what the service sends) or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterHeader(value: string | null): number | undefined {
  if (value === null || value.trim() === "") {
    return undefined;
  }
  if (/^\s*\d+\s*$/.test(value)) {
    return Number(value);
  }
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
