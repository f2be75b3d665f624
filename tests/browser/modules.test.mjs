// modules.test.mjs -- the page's pure ES modules and message catalogues,
// tested in node without a browser or a server: the three catalogues have
// the same keys, placeholders and plural forms; the organisation tree is
// read from both shapes the API may send; occupancy bands sit exactly at
// 85 % and 95 %; the flow JSON is read in its documented and legacy shapes;
// suppressed and withheld cells are read in every shape the server may send
// and sums over them are withheld; the signed-in principal's scope decides
// which units are in view and where a view starts.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { normaliseUnits, pathTo, hospitalOf, isWithin, isWard } from '../../web/js/org.js';
import { bandOf, occupancyOf, occupancyHidden, totals, totalsFromServer, waitingOf, overflowOf } from '../../web/js/board.js';
import { hoursOf, hoursWithheld, trendOf } from '../../web/js/flow.js';
import { cellOf, cell, hiddenCell, isSuppressedValue } from '../../web/js/suppress.js';
import { normalisePrincipal, inScope, scopeUnits, homeUnit, DEFAULT_REASONS } from '../../web/js/session.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB = path.resolve(HERE, '..', '..', 'web');
const LANGS = ['fi', 'sv', 'en'];
const cat = Object.fromEntries(LANGS.map((l) => [l, JSON.parse(fs.readFileSync(path.join(WEB, 'i18n', `${l}.json`), 'utf8'))]));

function placeholders(m) {
  const texts = typeof m === 'string' ? [m] : Object.values(m);
  return [...new Set(texts.flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((x) => x[1])))].sort();
}

describe('message catalogues', () => {
  it('have the same keys in fi, sv and en', () => {
    const keys = Object.keys(cat.fi).sort();
    assert.ok(keys.length > 100);
    assert.deepEqual(Object.keys(cat.sv).sort(), keys);
    assert.deepEqual(Object.keys(cat.en).sort(), keys);
  });

  it('use the same placeholders in every language', () => {
    for (const k of Object.keys(cat.fi)) {
      const p = placeholders(cat.fi[k]);
      assert.deepEqual(placeholders(cat.sv[k]), p, `sv ${k}`);
      assert.deepEqual(placeholders(cat.en[k]), p, `en ${k}`);
    }
  });

  it('give every plural message an "other" form and every language its own text', () => {
    for (const l of LANGS) {
      for (const [k, m] of Object.entries(cat[l])) {
        if (typeof m === 'object') assert.equal(typeof m.other, 'string', `${l} ${k}`);
        else assert.ok(m.length > 0, `${l} ${k} is empty`);
      }
    }
    assert.notEqual(cat.fi['count.beds'], cat.sv['count.beds']);
    assert.notEqual(cat.sv['count.beds'], cat.en['count.beds']);
  });

  it('cover every key the page asks for', () => {
    const used = new Set();
    for (const f of fs.readdirSync(path.join(WEB, 'js'))) {
      const src = fs.readFileSync(path.join(WEB, 'js', f), 'utf8');
      for (const m of src.matchAll(/\bt\('([a-z0-9_.]+)'/g)) used.add(m[1]);
    }
    const html = fs.readFileSync(path.join(WEB, 'index.html'), 'utf8');
    for (const m of html.matchAll(/data-i18n(?:-aria-label)?="([a-z0-9_.]+)"/g)) used.add(m[1]);
    assert.ok(used.size > 60);
    for (const k of used) assert.ok(k in cat.fi, `missing key '${k}'`);
  });
});

describe('organisation tree', () => {
  const nested = {
    id: 'c',
    name: { fi: 'Alue', sv: 'Område', en: 'County' },
    units: [
      {
        id: 'c', type: 'county', parent: null, name: { fi: 'Alue', sv: 'Område', en: 'County' },
        children: [
          { id: 'h', type: 'hospital', parent: 'c', name: { fi: 'S', sv: 'S', en: 'H' }, children: [
            { id: 'w1', type: 'ward', parent: 'h', name: { fi: 'O1', sv: 'A1', en: 'W1' }, beds: 6, shared_beds: false, children: [] },
            { id: 'e', type: 'ed', parent: 'h', name: { fi: 'P', sv: 'J', en: 'ED' }, children: [] },
          ] },
          { id: 'm', type: 'municipality', parent: 'c', name: { fi: 'K', sv: 'K', en: 'M' }, children: [
            { id: 'w2', type: 'ward', parent: 'm', name: { fi: 'O2', sv: 'A2', en: 'W2' }, beds: 4, children: [] },
          ] },
        ],
      },
    ],
  };

  it('reads the nested tree the API sends', () => {
    const org = normaliseUnits(nested);
    assert.equal(org.rootId, 'c');
    assert.equal(org.units.size, 6);
    assert.deepEqual(org.units.get('h').children, ['w1', 'e']);
    assert.deepEqual(pathTo(org, 'w1').map((u) => u.id), ['c', 'h', 'w1']);
    assert.equal(hospitalOf(org, 'w1').id, 'h');
    assert.equal(hospitalOf(org, 'w2').id, 'm', 'no hospital: the parent');
    assert.ok(isWithin(org, 'w1', 'h'));
    assert.ok(!isWithin(org, 'w2', 'h'));
    assert.equal(org.units.get('w1').nbeds, 6);
    assert.ok(isWard(org.units.get('w1')));
    assert.ok(!isWard(org.units.get('h')));
  });

  it('reads a flat list with parents, the county given only at the top', () => {
    const org = normaliseUnits({
      id: 'c',
      name: { fi: 'Alue' },
      units: [
        { id: 'w', type: 'ward', parent: 'h', beds: ['1', '2'], name: { fi: 'O' } },
        { id: 'h', type: 'hospital', name: { fi: 'S' } },
      ],
    });
    assert.equal(org.rootId, 'c');
    assert.equal(org.units.get('h').parent, 'c');
    assert.deepEqual(pathTo(org, 'w').map((u) => u.id), ['c', 'h', 'w']);
    assert.deepEqual(org.units.get('w').beds, ['1', '2']);
  });

  it('survives unknown parents and cycles', () => {
    const org = normaliseUnits([
      { id: 'a', parent: 'b' },
      { id: 'b', parent: 'a' },
      { id: 'x', parent: 'nowhere' },
    ]);
    for (const id of ['a', 'b', 'x']) assert.ok(pathTo(org, id).length >= 1);
    assert.deepEqual(pathTo(org, 'missing'), []);
  });
});

describe('occupancy', () => {
  it('puts the bands at 85 % and 95 %', () => {
    assert.equal(bandOf(null), 'none');
    assert.equal(bandOf(0), 'normal');
    assert.equal(bandOf(84.9), 'normal');
    assert.equal(bandOf(85), 'high');
    assert.equal(bandOf(95), 'high');
    assert.equal(bandOf(95.1), 'critical');
    assert.equal(bandOf(120), 'critical');
  });

  it('takes the server percentage, else computes it', () => {
    assert.equal(occupancyOf({ occupancy_pct: 91.7, beds: 12, occupied: 11 }), 91.7);
    assert.equal(occupancyOf({ beds: 8, occupied: 6 }), 75);
    assert.equal(occupancyOf({ beds: 0, occupied: 0 }), null);
  });

  it('adds wards up, leaving emergency departments out of the beds', () => {
    const s = totals([
      { type: 'ward', beds: 6, patient_count: 7, occupied: 6, free: 0, overflow: 1, awaiting_transfer: 2, on_leave: 1, waiting_count: 1 },
      { type: 'ward', beds: 4, patient_count: 1, occupied: 1, free: 3, awaiting_transfer: 0, on_leave: 0, waiting: [] },
      { type: 'ed', beds: 0, patient_count: 5, occupied: 0, free: 0, waiting_count: 2 },
    ]);
    assert.equal(s.beds, 10);
    assert.equal(s.occupied, 7);
    assert.equal(s.free, 3);
    assert.equal(s.overflow, 1);
    assert.equal(s.awaiting_transfer, 2);
    assert.equal(s.waiting_count, 3);
    assert.equal(s.patient_count, 8);
    assert.equal(s.occupancy_pct, 80);
    assert.deepEqual(s.withheld, []);
    assert.equal(waitingOf({ waiting: [{}, {}] }), 2);
    assert.equal(waitingOf({}), null);
    assert.equal(totals([{ type: 'ward', beds: 2, occupied: 0 }]).waiting_count, null, 'unknown waiting is not 0');
    assert.equal(overflowOf({ beds: 2, occupied: 3 }), 1);
    const t = totalsFromServer({ beds: 10, occupied: 7, free: 3, overflow: 1, occupancy_pct: 80, waiting_count: 3, patient_count: 8 });
    assert.equal(t.occupancy_pct, 80);
    assert.equal(t.waiting_count, 3);
    assert.equal(t.patient_count, 8);
    assert.deepEqual(t.suppressed, []);
  });

  it('withholds sums and occupancy over suppressed wards', () => {
    // The server's shape for a role without person-level rights.
    const small = { type: 'ward', beds: 6, patient_count: null, occupied: null, free: null, overflow: null, occupancy_pct: null, awaiting_transfer: 0, on_leave: 0, waiting_count: 0, suppressed: ['patient_count', 'occupied'], withheld: ['free', 'overflow', 'occupancy_pct'] };
    const big = { type: 'ward', beds: 10, patient_count: 8, occupied: 8, free: 2, overflow: 0, occupancy_pct: 80, awaiting_transfer: 0, on_leave: 0, waiting_count: 0, suppressed: [], withheld: [] };
    assert.equal(occupancyOf(small), null);
    assert.equal(occupancyHidden(small), true);
    assert.equal(occupancyHidden(big), false);
    assert.equal(overflowOf(small), 0);
    const s = totals([small, big]);
    assert.equal(s.beds, 16);
    // A sum with a hidden term is withheld (a dash), never "<5" or a number.
    for (const k of ['occupied', 'patient_count', 'free', 'overflow', 'occupancy_pct']) {
      assert.equal(s[k], null, k);
      assert.ok(s.withheld.includes(k), `${k} not withheld`);
    }
    assert.deepEqual(s.suppressed, []);
    assert.equal(s.awaiting_transfer, 0);
    // Server totals keep the kind of each hidden field.
    const t = totalsFromServer({ beds: 11, patient_count: null, occupied: null, free: null, overflow: null, occupancy_pct: null, awaiting_transfer: 0, on_leave: 0, waiting_count: 0, suppressed: ['patient_count', 'occupied'], withheld: ['free', 'overflow', 'occupancy_pct'] });
    assert.deepEqual(cellOf(t, 'occupied'), { v: null, suppressed: true, withheld: false });
    assert.deepEqual(cellOf(t, 'free'), { v: null, suppressed: false, withheld: true });
    assert.deepEqual(cellOf(t, 'occupancy_pct'), { v: null, suppressed: false, withheld: true });
    assert.deepEqual(cellOf(t, 'beds'), { v: 11, suppressed: false, withheld: false });
  });
});

describe('suppressed cells', () => {
  it('reads every shape the server may send', () => {
    const none = { v: null, suppressed: false, withheld: false };
    assert.deepEqual(cellOf({ occupied: 3 }, 'occupied'), { v: 3, suppressed: false, withheld: false });
    assert.deepEqual(cellOf({ occupied: 0, suppressed: [] }, 'occupied'), { v: 0, suppressed: false, withheld: false });
    assert.deepEqual(cellOf({ occupied: null, free: null, suppressed: ['occupied', 'free'] }, 'free'), { v: null, suppressed: true, withheld: false });
    assert.deepEqual(cellOf({ occupied: { suppressed: true } }, 'occupied'), { v: null, suppressed: true, withheld: false });
    assert.deepEqual(cellOf({ occupied: '<5' }, 'occupied'), { v: null, suppressed: true, withheld: false });
    assert.deepEqual(cellOf({ occupied: null, suppressed: true }, 'occupied'), { v: null, suppressed: true, withheld: false });
    assert.deepEqual(cellOf({ free: null, withheld: ['free'] }, 'free'), { v: null, suppressed: false, withheld: true });
    // Null without being listed is just missing; a listed key with a value is the value.
    assert.deepEqual(cellOf({ occupied: null, suppressed: ['free'] }, 'occupied'), none);
    assert.deepEqual(cellOf({ occupied: 7, suppressed: ['occupied'] }, 'occupied'), { v: 7, suppressed: false, withheld: false });
    assert.deepEqual(cellOf(null, 'x'), none);
    assert.deepEqual(cell('<5'), { v: null, suppressed: true, withheld: false });
    assert.deepEqual(cell(4), { v: 4, suppressed: false, withheld: false });
    assert.equal(hiddenCell({ suppressed: false, withheld: true }), true);
    assert.equal(hiddenCell({ v: 0, suppressed: false, withheld: false }), false);
    assert.equal(isSuppressedValue({ suppressed: false }), false);
    assert.equal(isSuppressedValue([]), false);
  });
});

describe('principal and scope', () => {
  const org = normaliseUnits({
    id: 'c',
    name: { fi: 'Alue' },
    units: [
      { id: 'c', type: 'county', name: { fi: 'Alue' } },
      { id: 'h1', type: 'hospital', parent: 'c', name: { fi: 'S1' } },
      { id: 'w1', type: 'ward', parent: 'h1', name: { fi: 'O1' } },
      { id: 'h2', type: 'hospital', parent: 'c', name: { fi: 'S2' } },
      { id: 'w2', type: 'ward', parent: 'h2', name: { fi: 'O2' } },
    ],
  });

  it('normalises the API principal', () => {
    const p = normalisePrincipal({ user: 'kaisa', role: 'coordinator', scope: ['c', 7, ''], person_level: true, csrf: 'x', expires_at: '2026-11-24T04:00:00.000Z', reasons: ['care', 'BAD code', 'investigation'] });
    assert.deepEqual(p, { user: 'kaisa', role: 'coordinator', scope: ['c'], personLevel: true, csrf: 'x', expiresAt: '2026-11-24T04:00:00.000Z', reasons: ['care', 'investigation'] });
    assert.equal(normalisePrincipal({ role: 'x' }), null);
    assert.equal(normalisePrincipal({ user: 'a', person_level: 'yes' }).personLevel, false, 'only true is true');
    assert.deepEqual(normalisePrincipal({ user: 'a' }).reasons, DEFAULT_REASONS);
  });

  it('starts a county-wide user at the county', () => {
    const p = normalisePrincipal({ user: 'k', scope: ['c'] });
    assert.equal(homeUnit(org, p), 'c');
    for (const id of ['c', 'h1', 'w1', 'h2', 'w2']) assert.ok(inScope(org, id, p), id);
    assert.deepEqual(scopeUnits(org, p), ['c']);
  });

  it('starts a limited user at their first scope unit and keeps others out', () => {
    const p = normalisePrincipal({ user: 'a', scope: ['w2', 'h1', 'w1', 'nowhere', 'h1'] });
    // w1 lies under h1: only the outermost units, in the given order.
    assert.deepEqual(scopeUnits(org, p), ['w2', 'h1']);
    assert.equal(homeUnit(org, p), 'w2');
    assert.ok(inScope(org, 'w1', p));
    assert.ok(inScope(org, 'h1', p));
    assert.ok(!inScope(org, 'c', p));
    assert.ok(!inScope(org, 'h2', p));
    assert.ok(!inScope(org, 'nowhere', p));
    assert.equal(homeUnit(org, normalisePrincipal({ user: 'z', scope: ['nowhere'] })), null);
    assert.equal(inScope(org, 'c', null), false);
  });
});

describe('flow JSON', () => {
  it('reads admissions by hour as numbers, objects or suppressed cells', () => {
    const hrs = hoursOf({ admissions_by_hour: [1, '<5', { hour: 5, n: 7 }] });
    assert.equal(hrs.length, 24);
    assert.deepEqual(hrs[0], { v: 1, suppressed: false });
    assert.deepEqual(hrs[1], { v: null, suppressed: true });
    assert.deepEqual(hrs[5], { v: 7, suppressed: false });
    assert.deepEqual(hrs[23], { v: 0, suppressed: false });
    assert.equal(hoursOf({}), null);
  });

  it('reads the server\'s suppressed and withheld flow fields', () => {
    const flow = { admissions_by_hour: [0, 0, null, 7, ...Array(20).fill(0)], suppressed: ['admissions_by_hour'], withheld: [] };
    const hrs = hoursOf(flow);
    assert.deepEqual(hrs[2], { v: null, suppressed: true });
    assert.deepEqual(hrs[3], { v: 7, suppressed: false });
    assert.deepEqual(hoursOf({ admissions_by_hour: [null, 1] })[0], { v: 0, suppressed: false }, 'an unlisted null is no admission');
    assert.equal(hoursOf({ admissions_by_hour: null, withheld: ['admissions_by_hour'] }), null);
    assert.equal(hoursWithheld({ admissions_by_hour: null, withheld: ['admissions_by_hour'] }), true);
    assert.equal(hoursWithheld({ admissions_by_hour: [] }), false);
    assert.deepEqual(trendOf({ series: [{ date: '2026-11-01', occupancy_pct: null, withheld: ['occupancy_pct'] }, { date: '2026-11-02', occupancy_pct: null, suppressed: ['occupancy_pct'] }, { date: '2026-11-03', occupancy_pct: 5 }] }), [
      { date: '2026-11-01', v: null, hidden: 'withheld' },
      { date: '2026-11-02', v: null, hidden: 'suppressed' },
      { date: '2026-11-03', v: 5 },
    ]);
  });

  it('reads the daily series (server) and occupancy_trend (older shape)', () => {
    assert.deepEqual(trendOf({ series: [{ date: '2026-11-01', occupancy_pct: 80.5 }, { date: '2026-11-02', occupancy_pct: null }] }), [
      { date: '2026-11-01', v: 80.5 },
      { date: '2026-11-02', v: null },
    ]);
    assert.deepEqual(trendOf({ occupancy_trend: [{ date: '2026-11-01', pct: 70 }] }), [{ date: '2026-11-01', v: 70 }]);
    assert.equal(trendOf({}), null);
  });
});
