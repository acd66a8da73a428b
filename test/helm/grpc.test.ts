import type { V1Container, V1Deployment, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { find, helmTemplate, RELEASE } from './chart.js';
import { kindKey, validateObject } from './kube-validate.js';
import { replicaTemplate } from './pod-specs.js';

/** The chart's gRPC parts: the gateway's port, flag, gRPC-health liveness probe and Service entry; replicas opt in. */
const prefix = `${RELEASE}-gpumux`;

function gatewayOf(set: string[] = []) {
  const objects = helmTemplate([], set);
  const pod = find<V1Deployment>(objects, 'Deployment', `${prefix}-gateway`).spec!.template.spec!;
  const c = pod.containers.find((x) => x.name === 'gateway')!;
  return { objects, c, service: find<V1Service>(objects, 'Service', `${prefix}-gateway`) };
}

const portOf = (c: V1Container, name: string) => c.ports?.find((p) => p.name === name)?.containerPort;

describe('helm chart: gRPC', () => {
  it('serves KServe v2 gRPC on the gateway by default: flag, port, probe and Service agree', () => {
    const { c, service, objects } = gatewayOf();
    const port = portOf(c, 'grpc');
    expect(port).toBe(8001);
    expect(c.args).toContain(`--grpc-port=${port}`);
    expect(c.livenessProbe?.grpc).toEqual({ port, service: 'liveness' });
    expect(c.readinessProbe?.httpGet?.path).toBe('/v2/health/ready');
    expect(service.spec!.ports!.find((p) => p.name === 'grpc')).toMatchObject({
      port: 8001,
      targetPort: 'grpc',
      appProtocol: 'kubernetes.io/h2c',
    });
    for (const o of objects.filter((x) => ['Deployment', 'Service'].includes(x.kind)))
      expect(validateObject(o), kindKey(o)).toEqual([]);
  });

  it('turns gRPC off: no flag, no port, HTTP liveness, one Service port', () => {
    const { c, service } = gatewayOf(['gateway.grpc.enabled=false']);
    expect(portOf(c, 'grpc')).toBeUndefined();
    expect(c.args!.some((a) => a.startsWith('--grpc-port'))).toBe(false);
    expect(c.livenessProbe?.httpGet?.path).toBe('/v2/health/live');
    expect(service.spec!.ports!.map((p) => p.name)).toEqual(['http']);
  });

  it('gives replicas a gRPC port and gRPC-health liveness when asked', () => {
    const objects = helmTemplate([], ['replica.grpc.enabled=true', 'replica.grpc.port=9002']);
    const pod = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`));
    const c = pod.spec!.containers.find((x) => x.name === 'replica')!;
    expect(portOf(c, 'grpc')).toBe(9002);
    expect(c.args).toContain('--grpc-port=9002');
    expect(c.livenessProbe?.grpc).toEqual({ port: 9002, service: 'liveness' });
    const off = replicaTemplate(find(helmTemplate(), 'ConfigMap', `${prefix}-replica-pod`));
    expect(portOf(off.spec!.containers[0]!, 'grpc')).toBeUndefined();
  });
});
