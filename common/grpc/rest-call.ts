/**
 * How the gRPC services reach the REST API they stand on: the replica hands the request to its own Hono app
 * in-process, the gateway routes it to a replica (or answers it itself) exactly as it would a REST request.
 */
export interface RestRequest {
  method: 'GET' | 'POST';
  /** Always one of the v2 API's paths, built by the service (never the client's text). */
  path: string;
  headers: Record<string, string>;
  body?: Buffer | undefined;
  requestId: string;
  /**
   * Aborted when the call's deadline passes (reason: a DEADLINE_EXCEEDED GpumuxError) or the client cancels
   * (reason: CLIENT_CLOSED).
   */
  signal: AbortSignal;
}

export interface RestResponse {
  status: number;
  header(name: string): string | undefined;
  body: Buffer;
}

export type RestCall = (request: RestRequest) => Promise<RestResponse>;
