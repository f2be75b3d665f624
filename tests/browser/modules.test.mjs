// modules.test.mjs -- the page's pure ES modules and message catalogues,
// tested in node without a browser or a server: the three catalogues have
// the same keys, placeholders and plural forms; the organisation tree is
// read from both shapes the API may send; occupancy bands sit exactly at
// 85 % and 95 %; the flow JSON is read in its documented and legacy shapes.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { normaliseUnits, pathTo, hospitalOf, isWithin, isWard } from '../../web/js/org.js';
import { bandOf, occupancyOf, totals, totalsFromServer, waitingOf, overflowOf } from '../../web/js/board.js';
import { hoursOf, trendOf } from '../../web/js/flow.js';

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
    assert.equal(s.waiting, 3);
    assert.equal(s.occupancy_pct, 80);
    assert.equal(waitingOf({ waiting: [{}, {}] }), 2);
    assert.equal(waitingOf({}), null);
    assert.equal(overflowOf({ beds: 2, occupied: 3 }), 1);
    const t = totalsFromServer({ beds: 10, occupied: 7, free: 3, overflow: 1, occupancy_pct: 80, waiting_count: 3, patient_count: 8 });
    assert.equal(t.occupancy_pct, 80);
    assert.equal(t.waiting, 3);
    assert.equal(t.waitingKnown, true);
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

  it('reads the daily series (server) and occupancy_trend (older shape)', () => {
    assert.deepEqual(trendOf({ series: [{ date: '2026-11-01', occupancy_pct: 80.5 }, { date: '2026-11-02', occupancy_pct: null }] }), [
      { date: '2026-11-01', v: 80.5 },
      { date: '2026-11-02', v: null },
    ]);
    assert.deepEqual(trendOf({ occupancy_trend: [{ date: '2026-11-01', pct: 70 }] }), [{ date: '2026-11-01', v: 70 }]);
    assert.equal(trendOf({}), null);
  });
});
