// A KServe v2 gRPC client for gpumux (Triton's protocol: tritonclient.grpc works unchanged too).
//   node docs/examples/grpc-infer.mjs [host:port]     (from the repository: the project's @grpc/grpc-js and protos/)
// Asks for the `shapes` model's metadata, then infers one 480x640 UINT8 NHWC frame with a red rectangle.
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const address = process.argv[2] ?? '127.0.0.1:8001';
const definition = protoLoader.loadSync('inference/grpc_service.proto', {
  includeDirs: ['protos'],
  keepCase: true,
  longs: Number,
  defaults: true,
});
const { inference } = grpc.loadPackageDefinition(definition);
const client = new inference.GRPCInferenceService(address, grpc.credentials.createInsecure());
const call = (method, request) =>
  new Promise((resolve, reject) =>
    client[method](request, { deadline: Date.now() + 10_000 }, (err, reply) =>
      err ? reject(err) : resolve(reply),
    ),
  );

const meta = await call('ModelMetadata', { name: 'shapes' });
console.log('inputs', meta.inputs.map((t) => `${t.name} ${t.datatype} [${t.shape}]`).join(', '));

// one frame in a bucket of the model (shapes: 480x640), rows of RGB bytes; a red box at x 100..300, y 120..260
const [h, w] = [480, 640];
const pixels = Buffer.alloc(h * w * 3, 128);
for (let y = 120; y < 260; y++) for (let x = 100; x < 300; x++) pixels.set([255, 0, 0], (y * w + x) * 3);
const reply = await call('ModelInfer', {
  model_name: 'shapes',
  inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, h, w, 3] }],
  raw_input_contents: [pixels],
});
for (const [i, out] of reply.outputs.entries()) {
  const raw = new Uint8Array(reply.raw_output_contents[i]); // a copy at offset 0: typed arrays need alignment
  const values =
    out.datatype === 'FP32'
      ? new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4)
      : out.datatype === 'INT64'
        ? new BigInt64Array(raw.buffer, raw.byteOffset, raw.length / 8)
        : raw;
  console.log(out.name, out.datatype, `[${out.shape}]`, Array.from(values.slice(0, 4), Number));
}
client.close();
