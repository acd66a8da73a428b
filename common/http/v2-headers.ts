/** KServe v2 binary tensor extension: the length of the JSON header that precedes the raw tensor bytes. */
export const HEADER_LENGTH = 'inference-header-content-length';
