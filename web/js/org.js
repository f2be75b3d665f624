// org.js -- the county's organisation tree as the page needs it.
//
// GET /api/v1/units answers {"id","name",...,"units":[...]} where the units
// are either a nested tree (each unit with "children") or a flat list (each
// unit with "parent"); both, and a bare array, are accepted. The result is an
// index of units by id with parent links and children in document order, so
// the page can find a ward's hospital and build the breadcrumb path.

/**
 * @typedef {{id: string, type: string, name: object, parent: string|null,
 *            children: string[], beds: string[]|null, nbeds: number|null}} Unit
 */

function bedInfo(u) {
  if (Array.isArray(u.beds)) return { beds: u.beds.map((b) => (typeof b === 'object' && b ? String(b.id ?? b.bed ?? '') : String(b))), nbeds: u.beds.length };
  if (typeof u.beds === 'number') return { beds: null, nbeds: u.beds };
  if (typeof u.nbeds === 'number') return { beds: null, nbeds: u.nbeds };
  return { beds: null, nbeds: null };
}

/** Builds {rootId, units: Map<id, Unit>} from the API's answer. */
export function normaliseUnits(json) {
  const units = new Map();
  const order = [];

  function add(u, parentId) {
    if (!u || typeof u !== 'object' || u.id == null) return;
    const id = String(u.id);
    const parent = u.parent != null ? String(u.parent) : parentId;
    if (!units.has(id)) {
      const { beds, nbeds } = bedInfo(u);
      units.set(id, { id, type: String(u.type || ''), name: u.name ?? id, parent: parent ?? null, children: [], beds, nbeds });
      order.push(id);
    }
    const kids = Array.isArray(u.children) ? u.children : Array.isArray(u.units) ? u.units : [];
    for (const c of kids) add(c, id);
  }

  let top = null;
  let list = [];
  if (Array.isArray(json)) {
    list = json;
  } else if (json && typeof json === 'object') {
    list = Array.isArray(json.units) ? json.units : Array.isArray(json.children) ? json.children : [];
    if (json.id != null) top = { id: String(json.id), type: String(json.type || 'county'), name: json.name ?? String(json.id) };
  }

  // The county itself: the top-level object, unless the list repeats it.
  const listed = new Set(list.filter((u) => u && u.id != null).map((u) => String(u.id)));
  if (top && !listed.has(top.id)) {
    units.set(top.id, { id: top.id, type: top.type || 'county', name: top.name, parent: null, children: [], beds: null, nbeds: null });
    order.push(top.id);
    for (const u of list) add(u, u && u.parent == null ? top.id : undefined);
  } else {
    for (const u of list) add(u, undefined);
    if (top && units.has(top.id)) {
      const r = units.get(top.id);
      if (r.name === r.id) r.name = top.name;
    }
  }

  // A parent the list does not contain is dropped (the unit becomes a root).
  for (const id of order) {
    const u = units.get(id);
    if (u.parent != null && (!units.has(u.parent) || u.parent === id)) u.parent = null;
  }
  for (const id of order) {
    const u = units.get(id);
    if (u.parent != null) units.get(u.parent).children.push(id);
  }

  let rootId = top && units.has(top.id) ? top.id : null;
  if (rootId == null || units.get(rootId).parent != null) {
    const roots = order.filter((id) => units.get(id).parent == null);
    rootId = roots.length ? roots[0] : null;
  }
  // Several roots: hang the others under the first so every unit is reachable.
  for (const id of order) {
    const u = units.get(id);
    if (id !== rootId && u.parent == null && rootId != null) {
      u.parent = rootId;
      units.get(rootId).children.push(id);
    }
  }
  return { rootId, units };
}

/** The path from the root to 'id' (inclusive), as units; [] when unknown. */
export function pathTo(org, id) {
  const path = [];
  const seen = new Set();
  let cur = org.units.get(id);
  while (cur && !seen.has(cur.id)) {
    seen.add(cur.id);
    path.unshift(cur);
    cur = cur.parent != null ? org.units.get(cur.parent) : null;
  }
  return path;
}

/** True when 'id' is 'ancestor' or below it. */
export function isWithin(org, id, ancestor) {
  return pathTo(org, id).some((u) => u.id === ancestor);
}

/** The hospital a ward belongs to: the nearest ancestor of type "hospital",
 * else its parent, else null. */
export function hospitalOf(org, wardId) {
  const path = pathTo(org, wardId);
  for (let i = path.length - 2; i >= 0; i--) if (path[i].type === 'hospital') return path[i];
  return path.length >= 2 ? path[path.length - 2] : null;
}

/** True when the unit is a ward (by type, or because it has beds). */
export function isWard(u) {
  return !!u && (u.type === 'ward' || (Array.isArray(u.beds) && u.beds.length > 0) || (typeof u.nbeds === 'number' && u.nbeds > 0));
}
