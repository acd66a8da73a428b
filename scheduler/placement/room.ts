import { gpuId, type ModelPlan, type PlacedReplica } from '../types.js';
import type { MoveReplica } from './changes.js';
import { busyOf, footprintFn, placeOne, targetOf, uncount, type Planning } from './planning.js';
import { headroomBytes, type GpuUsage } from './fit.js';

interface Room {
  usage: GpuUsage;
  /** Replicas on the GPU that must go elsewhere (new ones are simply placed elsewhere; existing ones move). */
  evict: PlacedReplica[];
  /** Bytes of existing replicas to move: what the choice minimises. */
  cost: number;
}

/**
 * 4. Room for a model that fits nowhere (the largest waiting one first): choose the GPU where the fewest
 * bytes of smaller models stand in its way — counting what already drains there as free — and relocate them.
 * A replica this plan would create anyway is just placed elsewhere; a running one moves: its copy is created
 * elsewhere now, and the original is drained only once the copy is ready (plan.ts, keepExisting), so serving
 * capacity never dips. The GPU is kept free for the waiting model meanwhile. One room at a time.
 */
export function makeRoom(s: Planning): MoveReplica[] {
  for (const model of s.order) {
    for (;;) {
      const missing = targetOf(model) - (s.have.get(model.name) ?? 0);
      if (!(missing > 0 && Number.isFinite(missing))) break;
      let found: { room: Room; moves: MoveReplica[] } | null = null;
      for (const room of candidates(s, model)) {
        const moves = relocate(s, model, room); // side effects only when it succeeds
        if (moves) {
          found = { room, moves };
          break;
        }
      }
      if (!found) break;
      const { room, moves } = found;
      const id = gpuId(room.usage.gpu);
      if (moves.length === 0 && placeOne(s, model, [room.usage])) {
        room.usage.reservedFor = null;
        continue; // only replicas of this plan stood in the way: they went elsewhere
      }
      s.waiting.set(
        model.name,
        moves.length > 0
          ? `waiting for room on ${id}: moving ${moves.map((m) => m.replica.model).join(', ')} elsewhere`
          : `waiting for ${id} to drain`,
      );
      return moves;
    }
  }
  return [];
}

/** GPUs where the model would fit once smaller replicas leave, cheapest first, then in GPU order. */
function candidates(s: Planning, model: ModelPlan): Room[] {
  const rooms: Room[] = [];
  const cap = s.fit.maxReplicasPerGpu;
  for (const u of s.usage) {
    const need = footprintFn(model)(u.gpu);
    if (u.cordoned || u.gpu.memoryBytes - s.fit.reserveBytes < need) continue;
    const smaller = (r: PlacedReplica): boolean =>
      r.model !== model.name &&
      !r.moveOf &&
      r.footprintBytes < need &&
      r.node === u.gpu.node &&
      r.gpuIndex === u.gpu.index;
    // New replicas first (free to place elsewhere), then the largest running ones (fewest moves).
    const inWay = s.replicas
      .filter(smaller)
      .sort(
        (a, b) =>
          Number(a.existingId !== null) - Number(b.existingId !== null) ||
          b.footprintBytes - a.footprintBytes,
      );
    let free = headroomBytes(u, s.fit.reserveBytes) + (s.leavingBytes.get(gpuId(u.gpu)) ?? 0);
    const evict: PlacedReplica[] = [];
    for (const r of inWay) {
      if (free >= need && (cap === 0 || u.replicas - evict.length < cap)) break;
      evict.push(r);
      free += r.footprintBytes;
    }
    if (free < need || (cap > 0 && u.replicas - evict.length >= cap)) continue;
    rooms.push({
      usage: u,
      evict,
      cost: evict.reduce((n, r) => n + (r.existingId ? r.footprintBytes : 0), 0),
    });
  }
  return rooms.sort((a, b) => a.cost - b.cost || a.evict.length - b.evict.length);
}

/**
 * Places every evicted replica on another GPU (the room is kept free for `model`). Returns the moves of
 * running replicas, or null (and leaves the plan as it was) when one of them fits nowhere else.
 */
function relocate(s: Planning, model: ModelPlan, room: Room): MoveReplica[] | null {
  room.usage.reservedFor = model.name;
  const placed: PlacedReplica[] = [];
  const unplacedNew: PlacedReplica[] = [];
  const moves: MoveReplica[] = [];
  const byName = new Map(s.models.map((m) => [m.name, m]));
  const id = gpuId(room.usage.gpu);
  let ok = true;
  for (const r of room.evict) {
    const m = byName.get(r.model)!;
    if (r.existingId === null) {
      s.replicas.splice(s.replicas.indexOf(r), 1);
      uncount(s, room.usage, r.model, r.footprintBytes);
      s.have.set(r.model, s.have.get(r.model)! - 1);
      unplacedNew.push(r);
      const again = placeOne(s, m, s.usage, { reason: `placed elsewhere: ${id} is kept for ${model.name}` });
      if (!again) ok = false;
      else placed.push(again);
    } else {
      const reason = `moved off ${id} to make room for ${model.name}`;
      const copy = placeOne(s, m, s.usage, { moveOf: r.existingId, reason });
      if (!copy) ok = false;
      else {
        s.have.set(r.model, s.have.get(r.model)! - 1); // the copy and its original are one wanted replica
        placed.push(copy);
        moves.push({
          replica: {
            id: r.existingId,
            model: r.model,
            version: r.version,
            node: r.node,
            gpuIndex: r.gpuIndex,
            footprintBytes: r.footprintBytes,
          },
          to: copy,
          reason,
        });
      }
    }
    if (!ok) break;
  }
  if (ok) return moves;
  undo(s, room, placed, unplacedNew);
  return null;
}

/** Puts the plan back as it was before `relocate` tried this room: it does not work. */
function undo(s: Planning, room: Room, placed: PlacedReplica[], unplacedNew: PlacedReplica[]): void {
  for (const p of placed) {
    s.replicas.splice(s.replicas.indexOf(p), 1);
    uncount(s, s.byId.get(gpuId(p))!, p.model, p.footprintBytes);
    if (!p.moveOf) s.have.set(p.model, s.have.get(p.model)! - 1);
  }
  for (const r of unplacedNew) {
    s.replicas.push(r);
    const u = room.usage;
    u.usedBytes += r.footprintBytes;
    u.replicas += 1;
    u.byModel.set(r.model, (u.byModel.get(r.model) ?? 0) + 1);
    u.busy += busyOf(s, r.model);
    s.have.set(r.model, (s.have.get(r.model) ?? 0) + 1);
  }
  room.usage.reservedFor = null;
}
