// Apart from cli/local-stack.ts so `gpumux up --help` shows them without loading the stack.
/**
 * `npm start`'s cluster: two virtual GPUs sized so one 2 GiB shapes replica is 40 % of one — as one 9.6 GB
 * Co-DETR is of a 24 GB RTX 4090 in the seed — and two models, two replicas each: the throughput policy puts
 * one replica of each model on each GPU (every GPU computing, 80 % of memory used, two models packed).
 */
export const DEFAULT_LOCAL_GPUS = '2x5GiB';
export const DEFAULT_LOCAL_MODELS = 'shapes=2,shapes-detr=2';
