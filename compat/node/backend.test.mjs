// Runs Clerk's official Node SDK, @clerk/backend, against a clerktest server
// started by ../node_test.go, which passes the server and fixtures in the
// environment. Run through `go test` in compat/, not on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClerkClient, verifyToken } from '@clerk/backend';
import { isClerkAPIResponseError } from '@clerk/backend/errors';

const env = (name) => {
  const v = process.env[name];
  assert.ok(v, `${name} must be set (run this through go test in compat/)`);
  return v;
};

const apiUrl = env('CLERKTEST_URL'); // the SDK appends /v1
const secretKey = env('CLERKTEST_SECRET_KEY');
const clerk = createClerkClient({ secretKey, apiUrl });

test('verifyToken fetches the JWKS with the secret key', async () => {
  const payload = await verifyToken(env('CLERKTEST_TOKEN'), {
    secretKey,
    apiUrl,
    authorizedParties: ['http://localhost:3000'],
  });
  assert.equal(payload.sid, env('CLERKTEST_SESSION_ID'));
  assert.equal(payload.sub, env('CLERKTEST_USER_ID'));
  assert.equal(payload.iss, env('CLERKTEST_ISSUER'));
  assert.equal(payload.v, 2);
  assert.equal(payload.o.id, env('CLERKTEST_ORG_ID'));
});

test('verifyToken works networklessly with the PEM key', async () => {
  const payload = await verifyToken(env('CLERKTEST_TOKEN'), { jwtKey: env('CLERKTEST_PUBLIC_KEY') });
  assert.equal(payload.sid, env('CLERKTEST_SESSION_ID'));
});

test('verifyToken rejects an expired token', async () => {
  await assert.rejects(verifyToken(env('CLERKTEST_EXPIRED_TOKEN'), { secretKey, apiUrl }), (err) => {
    assert.equal(err.reason, 'token-expired');
    return true;
  });
});

test('verifyToken rejects another authorized party', async () => {
  await assert.rejects(
    verifyToken(env('CLERKTEST_TOKEN'), { secretKey, apiUrl, authorizedParties: ['https://evil.example'] }),
    (err) => {
      assert.equal(err.reason, 'token-invalid-authorized-parties');
      return true;
    },
  );
});

test('verifyToken reports an invalid secret key', async () => {
  await assert.rejects(verifyToken(env('CLERKTEST_TOKEN'), { secretKey: 'sk_test_wrong', apiUrl }), (err) => {
    assert.equal(err.reason, 'secret-key-invalid');
    return true;
  });
});

test('sessions.getSession', async () => {
  const s = await clerk.sessions.getSession(env('CLERKTEST_SESSION_ID'));
  assert.equal(s.id, env('CLERKTEST_SESSION_ID'));
  assert.equal(s.userId, env('CLERKTEST_USER_ID'));
  assert.equal(s.status, 'active');
  assert.equal(s.lastActiveOrganizationId, env('CLERKTEST_ORG_ID'));
  assert.equal(typeof s.expireAt, 'number');
  assert.ok(s.expireAt > Date.now(), 'expireAt is in milliseconds');
});

test('sessions.getSession of an unknown session is a 404', async () => {
  await assert.rejects(clerk.sessions.getSession('sess_missing'), (err) => {
    assert.ok(isClerkAPIResponseError(err));
    assert.equal(err.status, 404);
    assert.equal(err.errors[0].code, 'resource_not_found');
    assert.ok(err.clerkTraceId);
    return true;
  });
});

test('sessions.getSessionList', async () => {
  const list = await clerk.sessions.getSessionList({ userId: env('CLERKTEST_USER_ID'), limit: 10 });
  assert.equal(list.totalCount, 2);
  assert.deepEqual(
    list.data.map((s) => s.id),
    [env('CLERKTEST_OTHER_SESSION_ID'), env('CLERKTEST_SESSION_ID')],
  );
});

test('sessions.revokeSession', async () => {
  const s = await clerk.sessions.revokeSession(env('CLERKTEST_OTHER_SESSION_ID'));
  assert.equal(s.status, 'revoked');
});

test('sessions.getToken from a JWT template', async () => {
  const { jwt } = await clerk.sessions.getToken(env('CLERKTEST_SESSION_ID'), 'compat', 120);
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
  assert.equal(payload.aud, 'compat-audience');
  assert.equal(payload.exp - payload.iat, 120);
  assert.equal(payload.sid, undefined);
});
