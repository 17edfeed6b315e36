'use strict';
// A small HTTP service for the hardinit example image. No npm dependencies.
//
//   GET  /healthz      200 "ok"
//   GET  /work?ms=N    answers "done" after N ms (at most 10 s): a stand-in for slow work
//   POST /notes        appends the body (at most 64 KiB) to $DATA_DIR/notes.log
//   GET  /notes        returns $DATA_DIR/notes.log
//
// It writes only below $DATA_DIR: the image runs with a read-only root filesystem, and
// hardinit's Landlock rules make every other path read-only even where Docker does not.
//
// On SIGTERM (docker stop, Kubernetes pod deletion) or SIGINT it stops accepting connections,
// lets every request it already accepted finish, and exits 0. hardinit, as PID 1, forwards
// the signal; without a PID 1 that does, a `docker stop` ends in SIGKILL and cut-off replies.

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';
const dataDir = process.env.DATA_DIR ?? '/app/data';
// Shorter than Docker's default stop timeout (10 s), so that a request that hangs makes the
// service exit 1 on its own, instead of being killed without a word.
const graceMs = Number(process.env.SHUTDOWN_GRACE_MS ?? 8000);
const maxWorkMs = 10000;
const maxNoteBytes = 64 * 1024;
const notesFile = path.join(dataDir, 'notes.log');

let inFlight = 0;
let stopping = false;

function log(message) {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

// Fails at start-up, not at the first POST, when the data directory is not writable
// (a read-only root filesystem without a volume or tmpfs there).
function checkDataDirWritable() {
  const probe = path.join(dataDir, `.write-probe-${process.pid}`);
  fs.writeFileSync(probe, '');
  fs.unlinkSync(probe);
}

function reply(res, status, body) {
  if (stopping) {
    // The client must not send another request on this connection: nobody will read it.
    res.setHeader('connection', 'close');
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function readBody(req, limit, done) {
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  });
  req.on('end', () => done(size <= limit ? Buffer.concat(chunks) : null));
}

function work(url, res) {
  const ms = Math.min(Math.max(Number(url.searchParams.get('ms') ?? 100) || 0, 0), maxWorkMs);
  setTimeout(() => reply(res, 200, `done ${url.searchParams.get('id') ?? ''}\n`), ms);
}

function appendNote(req, res) {
  readBody(req, maxNoteBytes, (body) => {
    if (body === null) return reply(res, 413, 'note too large\n');
    fs.appendFile(notesFile, Buffer.concat([body, Buffer.from('\n')]), (err) => {
      if (err) {
        log(`append ${notesFile}: ${err.message}`);
        return reply(res, 500, 'cannot store the note\n');
      }
      reply(res, 201, 'stored\n');
    });
  });
}

function readNotes(res) {
  fs.readFile(notesFile, 'utf8', (err, text) => {
    if (err && err.code === 'ENOENT') return reply(res, 200, '');
    if (err) {
      log(`read ${notesFile}: ${err.message}`);
      return reply(res, 500, 'cannot read the notes\n');
    }
    reply(res, 200, text);
  });
}

function route(req, res) {
  const url = new URL(req.url, 'http://service');
  const key = `${req.method} ${url.pathname}`;
  if (key === 'GET /healthz') return reply(res, 200, 'ok\n');
  if (key === 'GET /work') return work(url, res);
  if (key === 'POST /notes') return appendNote(req, res);
  if (key === 'GET /notes') return readNotes(res);
  reply(res, 404, 'not found\n');
}

const server = http.createServer((req, res) => {
  inFlight += 1;
  res.on('close', () => {
    inFlight -= 1;
  });
  log(`accepted ${req.method} ${req.url}`);
  route(req, res);
});

function stop(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: no longer accepting; ${inFlight} request(s) in flight`);
  // unref: the timer alone must not keep the process alive once everything is answered.
  setTimeout(() => {
    log(`${inFlight} request(s) still open after ${graceMs} ms; giving up`);
    process.exit(1);
  }, graceMs).unref();
  server.close((err) => {
    if (err) log(`close: ${err.message}`);
    else log('every accepted request answered; exiting');
    process.exitCode = err ? 1 : 0;
  });
  // Keep-alive connections with no request under way would otherwise hold close() open.
  server.closeIdleConnections();
}

checkDataDirWritable();
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
server.listen(port, host, () => log(`listening on ${host}:${port}, data in ${dataDir}`));
