// dashboard_duckdb.mjs -- the health-station dashboard computed by DuckDB
// (@duckdb/node-api) from the raw events bench/dashboard_national wrote.
//
//   node bench/dashboard_duckdb.mjs PARAMS.json
//
// PARAMS.json (written by bench_dashboard_national): the CSV files (in
// "dir"), the 13 months of the trend ([first day, last day] as days since
// 1970-01-01), "at" (the dashboard's month), the station, the
// care-guarantee verdict as an SQL CASE generated from the rule timeline
// (over the DATE columns added at load),
// the waiting-time bins as an SQL CASE, and the repetitions.
//
// Loads the CSVs into tables (read_csv; the load time is reported apart),
// then runs the dashboard's queries for the whole country and for one
// station, repeatedly, and prints one JSON object on stdout:
//   {"version", "load_ms", "country": {"p50_ms", "p99_ms", "reps",
//    "figures"}, "station": {...}}
// where figures are rows of the same shape as the SQLite side's:
//   v / vc: key, grp, n_hta, med_hta, k7, k14, k90, n_con, med_con,
//           assessed, met   (key: a month's first day / a county)
//   t / tc: key, grp, n, med, n_unc, med_unc
//   d:      bin, count
// Medians are DuckDB's median() (quantile_cont 0.5: even n gives the mean
// of the two middle values).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const params = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const file = (name) => join(params.dir, params[name]).replaceAll("'", "''");

const num = (x) => (typeof x === 'bigint' ? Number(x) : x === null ? 0 : x);

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const version = (await conn.runAndReadAll('SELECT version()')).getRows()[0][0];

let t0 = performance.now();
await conn.run(`CREATE TABLE visits AS SELECT * FROM read_csv('${file('visits_csv')}',
  header = true, columns = {'station': 'INTEGER', 'grp': 'INTEGER', 'vday': 'INTEGER',
  'hta': 'INTEGER', 'contact': 'INTEGER', 'age': 'INTEGER', 'flags': 'INTEGER'})`);
await conn.run(`CREATE TABLE t3 AS SELECT * FROM read_csv('${file('t3_csv')}',
  header = true, columns = {'station': 'INTEGER', 'grp': 'INTEGER', 'day': 'INTEGER',
  'days': 'INTEGER', 'censored': 'INTEGER', 'inp': 'INTEGER'})`);
await conn.run(`CREATE TABLE stations AS SELECT * FROM read_csv('${file('stations_csv')}',
  header = true, columns = {'station': 'INTEGER', 'county': 'INTEGER'})`);
await conn.run(`CREATE TABLE calendar AS SELECT * FROM read_csv('${file('calendar_csv')}',
  header = true, columns = {'day': 'INTEGER', 'y': 'INTEGER', 'm': 'INTEGER',
  'd': 'INTEGER', 'month_from': 'INTEGER'})`);
// Dates as DATE beside the day numbers: the month of a row and the
// care guarantee's "within N months" (DATE + INTERVAL, clamped to the
// month's last day) are then DuckDB's own date functions.
await conn.run(`ALTER TABLE visits ADD COLUMN vdate DATE`);
await conn.run(`ALTER TABLE visits ADD COLUMN hdate DATE`);
await conn.run(`UPDATE visits SET vdate = DATE '1970-01-01' + vday,
  hdate = DATE '1970-01-01' + hta`);
await conn.run(`ALTER TABLE t3 ADD COLUMN tdate DATE`);
await conn.run(`UPDATE t3 SET tdate = DATE '1970-01-01' + day`);
const loadMs = performance.now() - t0;
const monthOf = (col) => `(date_trunc('month', ${col})::DATE - DATE '1970-01-01')`;

const first = params.months[0][0];
const [atFrom, atTo] = params.at;

// One query for every visit figure of a set of (key, group) cells.
function visitsSql(child, station) {
  const key = child ? 's.county' : monthOf('v.vdate');
  const from = child ? atFrom : first;
  const hta = 'v.flags & 1 = 0 AND v.hta IS NOT NULL';
  const con = 'v.flags & 1 = 0 AND v.contact IS NOT NULL';
  return `SELECT ${key} AS k, v.grp,
      count(*) FILTER (WHERE ${hta}),
      median((v.vday - v.hta)::DOUBLE) FILTER (WHERE ${hta}),
      count(*) FILTER (WHERE ${hta} AND v.vday - v.hta <= 7),
      count(*) FILTER (WHERE ${hta} AND v.vday - v.hta <= 14),
      count(*) FILTER (WHERE ${hta} AND v.vday - v.hta > 90),
      count(*) FILTER (WHERE ${con}),
      median((v.vday - v.contact)::DOUBLE) FILTER (WHERE ${con}),
      count(ok), sum(ok)
    FROM (SELECT v.*, ${params.verdict_sql} AS ok
          FROM visits v
          WHERE v.vday BETWEEN ${from} AND ${atTo}
          ${station >= 0 ? `AND v.station = ${station}` : ''}) v
    ${child ? 'JOIN stations s ON s.station = v.station' : ''}
    GROUP BY 1, 2`;
}

function t3Sql(child, station) {
  const key = child ? 's.county' : monthOf('t.tdate');
  const from = child ? atFrom : first;
  return `SELECT ${key} AS k, t.grp, count(*), median(t.days::DOUBLE),
      count(*) FILTER (WHERE t.censored = 0),
      median(t.days::DOUBLE) FILTER (WHERE t.censored = 0)
    FROM t3 t ${child ? 'JOIN stations s ON s.station = t.station' : ''}
    WHERE t.day BETWEEN ${from} AND ${atTo}
    ${station >= 0 ? `AND t.station = ${station}` : ''}
    GROUP BY 1, 2`;
}

function distSql(station) {
  return `SELECT ${params.bin_sql} AS bin, count(*) FROM visits x
    WHERE x.vday BETWEEN ${atFrom} AND ${atTo} AND x.flags & 1 = 0 AND x.hta IS NOT NULL
    ${station >= 0 ? `AND x.station = ${station}` : ''}
    GROUP BY 1`;
}

async function rows(sql) {
  const r = await conn.runAndReadAll(sql);
  return r.getRows().map((row) => row.map(num));
}

async function dashboard(station) {
  const out = {
    v: await rows(visitsSql(false, station)),
    t: await rows(t3Sql(false, station)),
    d: await rows(distSql(station)),
  };
  if (station < 0) {
    out.vc = await rows(visitsSql(true, station));
    out.tc = await rows(t3Sql(true, station));
  }
  return out;
}

function pct(ts) {
  const s = [...ts].sort((a, b) => a - b);
  const at = (p) => s[Math.max(0, Math.ceil(p * s.length) - 1)];
  return { p50_ms: s[Math.floor((s.length + 1) / 2) - 1], p99_ms: at(0.99) };
}

async function timed(station, reps) {
  let figures = await dashboard(station); // warm-up, and the values
  const ts = [];
  for (let i = 0; i < reps; i++) {
    t0 = performance.now();
    figures = await dashboard(station);
    ts.push(performance.now() - t0);
  }
  return { ...pct(ts), reps, figures };
}

const country = await timed(-1, params.reps_country);
const station = await timed(params.station, params.reps_station);
process.stdout.write(JSON.stringify({ version, load_ms: loadMs, country, station }));
conn.closeSync();
instance.closeSync();
