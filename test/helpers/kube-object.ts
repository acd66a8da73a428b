/** An object as the Kubernetes-API stand-in (kube-api-server.ts) stores and serves it. */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    [key: string]: unknown;
  };
  spec?: Record<string, unknown> & { nodeName?: string };
  status?: Record<string, unknown>;
  [key: string]: unknown;
};
