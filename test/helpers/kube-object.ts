/** An object as the Kubernetes-API stand-in (kube-api-server.ts) stores and serves it. */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string | undefined; // undefined: copied from an object that had none (dropped on the wire)
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string | undefined;
    deletionTimestamp?: string;
    [key: string]: unknown;
  };
  spec?: Record<string, unknown> & { nodeName?: string };
  status?: Record<string, unknown> | undefined;
  [key: string]: unknown;
};
