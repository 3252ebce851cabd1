// SPDX-License-Identifier: ISC
//
// The benchmark's peer: the notice receiver of docs/receiver.md written
// the way a Node user would write it, so that notices.fcgi is compared
// with a real alternative and not with a straw man.  node:http under
// cluster with two workers (one per core), jose's jwtVerify against a
// local JWK Set, the same claim checks as the C receiver, and each
// notice in its own file, created exclusively (which is the
// deduplication across workers) and fdatasync'ed before the answer.
//
// Usage: node server.mjs CONFIG.json, where the configuration names
//   port, issuer, client_id, deployments (array), jwks_file, data_dir,
//   leeway (seconds), workers and max_body_bytes.
// Answers a GET with 405 once a worker listens (the benchmark polls it).

import cluster from 'node:cluster';
import { createHash, webcrypto } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

// jose 6 uses the global WebCrypto, which Debian 12's Node 18 has but
// does not yet expose as a global: lend it before jose loads.
if (!globalThis.crypto) globalThis.crypto = webcrypto;
const { createLocalJWKSet, jwtVerify } = await import('jose');

const CLAIM_VERSION = 'https://purl.imsglobal.org/spec/lti/claim/version';
const CLAIM_DEPLOYMENT =
  'https://purl.imsglobal.org/spec/lti/claim/deployment_id';
const CLAIM_NOTICE = 'https://purl.imsglobal.org/spec/lti/claim/notice';
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

const config = JSON.parse(await readFile(process.argv[2], 'utf8'));

if (cluster.isPrimary) {
  for (let i = 0; i < (config.workers || 2); i++) cluster.fork();
  // A worker that dies would silently halve the peer's throughput.
  cluster.on('exit', (w, code) => {
    console.error(`worker ${w.process.pid} exited (${code})`);
    process.exit(1);
  });
} else {
  const jwks = createLocalJWKSet(
    JSON.parse(await readFile(config.jwks_file, 'utf8')));
  const deployments = new Set(config.deployments);
  const leeway = config.leeway ?? 10;
  const maxBody = config.max_body_bytes ?? 1048576;

  class Rejected extends Error {}

  // kid is required before any key is looked up, as in the C receiver.
  const keyFor = (header, token) => {
    if (typeof header.kid !== 'string' || header.kid === '')
      throw new Rejected('no_kid');
    return jwks(header, token);
  };

  // aud as a string or one-element array names the client; several
  // audiences need an azp among them.
  const clientId = (payload) => {
    const aud = payload.aud;
    if (typeof aud === 'string') return aud;
    if (!Array.isArray(aud) || aud.length === 0 ||
        aud.some((a) => typeof a !== 'string')) throw new Rejected('bad_aud');
    if (aud.length === 1) return aud[0];
    if (typeof payload.azp !== 'string' || !aud.includes(payload.azp))
      throw new Rejected('bad_azp');
    return payload.azp;
  };

  const judge = async (entry, receivedAt) => {
    const token = typeof entry === 'string' ? entry :
      (entry && typeof entry.jwt === 'string' ? entry.jwt : null);
    if (!token) return { status: 'rejected', error: 'malformed' };
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keyFor, {
        algorithms: ['RS256'],
        issuer: config.issuer,
        audience: config.client_id,
        clockTolerance: leeway,
        requiredClaims: ['exp', 'iat'],
      }));
      const now = Math.floor(Date.now() / 1000);
      if (payload.iat > now + leeway) throw new Rejected('iat_future');
      const client = clientId(payload);
      if (client !== config.client_id) throw new Rejected('unknown_platform');
      if (payload[CLAIM_VERSION] !== '1.3.0') throw new Rejected('bad_version');
      const n = payload[CLAIM_NOTICE];
      if (!n || typeof n !== 'object' || typeof n.id !== 'string' ||
          n.id === '' || typeof n.type !== 'string' ||
          typeof n.timestamp !== 'string' || !ISO_8601.test(n.timestamp))
        throw new Rejected('bad_notice');
      if (!deployments.has(payload[CLAIM_DEPLOYMENT]))
        throw new Rejected('unknown_deployment');
    } catch (e) {
      return { status: 'rejected',
        error: e instanceof Rejected ? e.message : (e.code || 'invalid') };
    }
    const n = payload[CLAIM_NOTICE];
    const key = createHash('sha256')
      .update(`${payload.iss}\0${config.client_id}\0${n.id}\0`).digest('hex');
    const record = JSON.stringify({
      key, id: n.id, type: n.type, timestamp: n.timestamp, iss: payload.iss,
      client_id: config.client_id, deployment_id: payload[CLAIM_DEPLOYMENT],
      received_at: receivedAt, claims: payload, jwt: token,
    });
    let fh;
    try {
      // 'wx' is O_CREAT|O_EXCL: exactly one worker creates the file.
      fh = await open(path.join(config.data_dir, `${key}.json`), 'wx', 0o600);
    } catch (e) {
      if (e.code === 'EEXIST') return { status: 'duplicate', id: n.id };
      return { status: 'rejected', error: 'storage' };
    }
    try {
      await fh.writeFile(record);
      await fh.datasync();
    } catch {
      return { status: 'rejected', error: 'storage' };
    } finally {
      await fh.close();
    }
    return { status: 'accepted', id: n.id };
  };

  const send = (res, status, obj, extra = {}) => {
    const body = JSON.stringify(obj) + '\n';
    res.writeHead(status, { 'Content-Type': 'application/json',
      'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body),
      ...extra });
    res.end(body);
  };

  http.createServer((req, res) => {
    if (req.method !== 'POST')
      return send(res, 405, { error: 'method_not_allowed' }, { Allow: 'POST' });
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] || ''))
      return send(res, 415, { error: 'unsupported_media_type' });
    const announced = Number(req.headers['content-length']);
    if (announced > maxBody) return send(res, 413, { error: 'body_too_large' });
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { size += c.length; chunks.push(c); });
    req.on('end', async () => {
      if (size > maxBody) return send(res, 413, { error: 'body_too_large' });
      let doc;
      try {
        doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400, { error: 'bad_body' });
      }
      if (!doc || !Array.isArray(doc.notices))
        return send(res, 400, { error: 'bad_body' });
      const receivedAt = new Date().toISOString();
      const out = await Promise.all(doc.notices.map((e) => judge(e, receivedAt)));
      const transient = out.some((o) => o.error === 'storage');
      send(res, transient ? 503 : 200, { notices: out });
    });
  }).listen(config.port, '127.0.0.1');
}
