// Peer for the push benchmark: PouchDB replicating N small docs to pouchdb-server over loopback HTTP.
// Usage: node pouch_replicate.js <server-url> <n>. Prints {"docs": n, "seconds": s} as JSON.
const PouchDB = require("pouchdb");
PouchDB.plugin(require("pouchdb-adapter-memory"));

async function main() {
  const [url, nText] = process.argv.slice(2);
  const n = parseInt(nText, 10);
  const local = new PouchDB("bench-local-" + Date.now(), { adapter: "memory" });
  const docs = [];
  for (let i = 0; i < n; i++) {
    docs.push({ _id: "F" + String(i).padStart(7, "0"), form: "pre-start", title: "check " + i });
  }
  for (let i = 0; i < n; i += 5000) await local.bulkDocs(docs.slice(i, i + 5000));
  const remote = new PouchDB(url + "/bench-" + Date.now());
  await remote.info();
  const started = process.hrtime.bigint();
  const result = await PouchDB.replicate(local, remote, { batch_size: 1000, batches_limit: 4 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const info = await remote.info();
  console.log(JSON.stringify({ docs: info.doc_count, written: result.docs_written, seconds }));
}
main().catch((e) => { console.error(e); process.exit(1); });
