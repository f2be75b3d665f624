// fhir_client.mjs -- a real FHIR client (npm fhir-kit-client) posts every
// JSON example under $TK_SHARED/testdata/fhir (read in place) to the server.
//
// Usage: node tests/integration/fhir_client.mjs <base-url> <token>
//
// Order: Schedules first, then Slots, Appointments, Encounters, Bundles and
// the rest, so a Slot can find its Schedule. A batch or transaction Bundle
// goes through client.batch / client.transaction (POST to the base); every
// other resource through client.create (POST <base>/<type>). Then two
// conditional creates (If-None-Exist: one existing identifier, one new) and
// an update (PUT) of an Appointment to "cancelled".
//
// Prints one JSON line per request: {"file","kind","status","id",
// "location","outcome":[diagnostics...],"entries":[{"status",
// "diagnostics"}]} and exits 0 (the Python side judges the outcomes).
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'fhir-kit-client';

const [base, token] = process.argv.slice(2);
if (!base || !token) {
  console.error('usage: fhir_client.mjs <base-url> <token>');
  process.exit(2);
}
const shared = process.env.TK_SHARED || path.join(process.cwd(), '..', 'shared');
const root = path.join(shared, 'testdata', 'fhir');
const client = new Client({ baseUrl: base, bearerToken: token });

const RANK = { Schedule: 0, Slot: 1, Appointment: 2, Encounter: 3, Bundle: 4 };

function walk(dir) {
  const out = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

function diagnostics(oo) {
  if (!oo || oo.resourceType !== 'OperationOutcome') return [];
  return (oo.issue || []).map((i) => ({
    severity: i.severity,
    code: i.code,
    diagnostics: i.diagnostics || '',
    expression: (i.expression || []).join(','),
  }));
}

// Runs one request; returns what the Python side needs.
async function run(label, kind, fn) {
  const rec = { file: label, kind, status: 0, id: null, location: null, outcome: [], entries: [] };
  try {
    const res = await fn();
    const http = Client.httpFor(res);
    rec.status = http.response.status;
    rec.location = http.response.headers.get('location');
    rec.id = res.id || null;
    rec.outcome = diagnostics(res);
    if (res.resourceType === 'Bundle') {
      rec.entries = (res.entry || []).map((e) => ({
        status: (e.response || {}).status || '',
        location: (e.response || {}).location || null,
        outcome: diagnostics((e.response || {}).outcome),
      }));
    }
  } catch (err) {
    if (!err.response) {
      rec.status = -1;
      rec.outcome = [{ diagnostics: 'client error: ' + err.message }];
    } else {
      rec.status = err.response.status;
      let body = err.response.data;
      try {
        body = typeof body === 'string' ? JSON.parse(body) : body;
      } catch {
        body = null;
      }
      rec.outcome = diagnostics(body);
    }
  }
  console.log(JSON.stringify(rec));
}

const files = walk(root).map((p) => {
  const body = JSON.parse(fs.readFileSync(p, 'utf8'));
  return { p, rel: path.relative(root, p), body };
});
files.sort((a, b) => {
  const ra = RANK[a.body.resourceType] ?? 9;
  const rb = RANK[b.body.resourceType] ?? 9;
  return ra - rb || a.rel.localeCompare(b.rel);
});

for (const f of files) {
  const b = f.body;
  if (b.resourceType === 'Bundle' && b.type === 'batch') {
    await run(f.rel, 'batch', () => client.batch({ body: b }));
  } else if (b.resourceType === 'Bundle' && b.type === 'transaction') {
    await run(f.rel, 'transaction', () => client.transaction({ body: b }));
  } else {
    await run(f.rel, 'create', () => client.create({ resourceType: b.resourceType, body: b }));
  }
}

// Conditional creates: the finished fi-base Encounter again (its identifier
// is known: nothing applied), then a copy under a new id and identifier.
const visit = files.find((f) => f.rel === path.join('fi-base', 'Encounter-id-for-visit.json')).body;
await run('cond-existing', 'create', () =>
  client.create({
    resourceType: 'Encounter',
    body: { ...visit, id: 'id-for-visit-resent' },
    options: { headers: { 'If-None-Exist': 'identifier=id-for-visit' } },
  }),
);
await run('cond-new', 'create', () =>
  client.create({
    resourceType: 'Encounter',
    body: { ...visit, id: 'id-for-visit-2', identifier: [{ use: 'usual', value: 'id-for-visit-2' }] },
    options: { headers: { 'If-None-Exist': 'identifier=id-for-visit-2' } },
  }),
);
// Update: the booked r4-core Appointment is cancelled.
const appt = files.find((f) => f.rel === path.join('r4-core', 'appointment-example.json')).body;
await run('update-cancel', 'update', () =>
  client.update({
    resourceType: 'Appointment',
    id: appt.id,
    body: { ...appt, status: 'cancelled' },
  }),
);
