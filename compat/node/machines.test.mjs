// Runs the machine authentication APIs of Clerk's official Node SDK,
// @clerk/backend, against a clerktest server started by ../node_test.go:
// machines, M2M tokens (opaque and JWT), API keys, OAuth access tokens and
// authenticateRequest with machine tokens. Run through `go test` in compat/,
// not on its own: node_test.go also checks the request counts this file
// produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClerkClient } from '@clerk/backend';
import { isClerkAPIResponseError } from '@clerk/backend/errors';

const env = (name) => {
  const v = process.env[name];
  assert.ok(v, `${name} must be set (run this through go test in compat/)`);
  return v;
};

const apiUrl = env('CLERKTEST_URL');
const secretKey = env('CLERKTEST_SECRET_KEY');
const publishableKey = env('CLERKTEST_PUBLISHABLE_KEY');
const telemetry = { disabled: true };
const clerk = createClerkClient({ secretKey, publishableKey, apiUrl, telemetry });
// A client that holds only a machine secret key, as a calling service would.
const machineClient = (machineSecretKey) => createClerkClient({ apiUrl, machineSecretKey, telemetry });

const apiKeyOwner = 'user_' + 'A'.repeat(27);

const expectStatus = (status) => (err) => {
  assert.ok(isClerkAPIResponseError(err), `want a ClerkAPIResponseError, got ${err}`);
  assert.equal(err.status, status);
  assert.ok(err.errors[0].code, 'Clerk error body has a code');
  return true;
};

const bearer = (token) => new Request('http://localhost:3000/api', { headers: { Authorization: `Bearer ${token}` } });

// Three machines: caller may call target; other is scoped to nothing.
let machines;
const setup = async () => {
  if (machines) return machines;
  const target = await clerk.machines.create({ name: 'target' });
  const other = await clerk.machines.create({ name: 'other' });
  const caller = await clerk.machines.create({ name: 'caller', scopedMachines: [target.id], defaultTokenTtl: 600 });
  machines = { target, other, caller };
  return machines;
};

test('machines.create with scopedMachines, get, getSecretKey', async () => {
  const { target, caller } = await setup();
  assert.match(caller.id, /^mch_\w{27}$/);
  assert.equal(caller.name, 'caller');
  assert.equal(caller.defaultTokenTtl, 600);
  assert.match(caller.secretKey, /^ak_/);
  assert.deepEqual(
    caller.scopedMachines.map((m) => m.id),
    [target.id],
  );
  assert.deepEqual(caller.scopedMachines[0].scopedMachines, []);

  const got = await clerk.machines.get(caller.id);
  assert.equal(got.id, caller.id);
  assert.equal(got.secretKey, undefined, 'the secret key is only in the create answer');

  const { secret } = await clerk.machines.getSecretKey(caller.id);
  assert.equal(secret, caller.secretKey);

  await assert.rejects(clerk.machines.get('mch_' + 'x'.repeat(27)), expectStatus(404));
});

test('m2m.createToken (opaque) and m2m.verify with the target machine key and the instance key', async () => {
  const { target, other, caller } = await setup();
  const before = Date.now();
  const tok = await machineClient(caller.secretKey).m2m.createToken({ secondsUntilExpiration: 300, claims: { role: 'reader' } });
  assert.match(tok.id, /^mt_[0-9a-f]{32}$/);
  assert.match(tok.token, /^mt_/);
  assert.equal(tok.subject, caller.id);
  assert.deepEqual(tok.scopes, [target.id]);
  assert.deepEqual(tok.claims, { role: 'reader' });
  assert.equal(tok.revoked, false);
  assert.ok(tok.expiration >= before + 299_000 && tok.expiration <= Date.now() + 301_000, 'expiration in ms');

  const viaTarget = await machineClient(target.secretKey).m2m.verify({ token: tok.token });
  assert.equal(viaTarget.id, tok.id);
  assert.equal(viaTarget.subject, caller.id);
  assert.deepEqual(viaTarget.claims, { role: 'reader' });
  assert.equal(viaTarget.token, undefined);

  const viaInstance = await clerk.m2m.verify({ token: tok.token });
  assert.equal(viaInstance.id, tok.id);

  // other is not in the token's scopes; neither is the caller itself.
  await assert.rejects(machineClient(other.secretKey).m2m.verify({ token: tok.token }), expectStatus(404));
  await assert.rejects(machineClient(caller.secretKey).m2m.verify({ token: tok.token }), expectStatus(404));
});

test('m2m.createToken without an expiration uses the machine default TTL', async () => {
  const { caller } = await setup();
  const tok = await machineClient(caller.secretKey).m2m.createToken();
  assert.ok(Math.abs(tok.expiration - (tok.createdAt + 600_000)) <= 1, `expiration ${tok.expiration}`);
});

test('m2m.createToken needs a machine secret key', async () => {
  await assert.rejects(clerk.m2m.createToken({ secondsUntilExpiration: 60 }), expectStatus(403));
  await assert.rejects(machineClient('ak_wrong').m2m.createToken(), expectStatus(401));
});

test('m2m.createToken with tokenFormat jwt; m2m.verify checks it locally', async () => {
  const { target, caller } = await setup();
  const tok = await machineClient(caller.secretKey).m2m.createToken({
    tokenFormat: 'jwt',
    secondsUntilExpiration: 120,
    claims: { aud: [target.id] },
  });
  const [h, p] = tok.token.split('.').slice(0, 2).map((s) => JSON.parse(Buffer.from(s, 'base64url').toString()));
  assert.deepEqual(Object.keys(h).sort(), ['alg', 'cat', 'kid']);
  assert.equal(h.cat, 'cl_B7d4PD333AAA');
  assert.equal(p.sub, caller.id);
  assert.equal(p.jti, tok.id);
  assert.equal(p.exp - p.iat, 120);
  assert.equal(p.iss, env('CLERKTEST_ISSUER'));

  // The SDK verifies M2M JWTs against the JWKS, without calling /m2m_tokens/verify.
  const verified = await clerk.m2m.verify({ token: tok.token });
  assert.equal(verified.id, tok.id);
  assert.equal(verified.subject, caller.id);
  assert.deepEqual(verified.scopes, [target.id], 'scopes come from aud');
  assert.deepEqual(verified.claims, { aud: [target.id] });
  assert.equal(verified.expired, false);
});

test('m2m.revokeToken with the machine key; the token then fails verification', async () => {
  const { target, caller } = await setup();
  const mc = machineClient(caller.secretKey);
  const tok = await mc.m2m.createToken({ secondsUntilExpiration: 300 });
  const revoked = await mc.m2m.revokeToken({ m2mTokenId: tok.id, revocationReason: 'compat' });
  assert.equal(revoked.revoked, true);
  assert.equal(revoked.revocationReason, 'compat');
  await assert.rejects(machineClient(target.secretKey).m2m.verify({ token: tok.token }), expectStatus(404));
  // A machine cannot revoke another machine's token.
  const tok2 = await mc.m2m.createToken({ secondsUntilExpiration: 300 });
  await assert.rejects(machineClient(target.secretKey).m2m.revokeToken({ m2mTokenId: tok2.id }), expectStatus(404));
  // The instance key can.
  const byInstance = await clerk.m2m.revokeToken({ m2mTokenId: tok2.id });
  assert.equal(byInstance.revoked, true);
});

test('m2m.list', async () => {
  const { caller } = await setup();
  const mc = machineClient(caller.secretKey);
  const list = await mc.m2m.list({ subject: caller.id, limit: 100 });
  assert.ok(list.totalCount >= 1);
  assert.ok(list.data.every((t) => t.subject === caller.id && !t.revoked));
  const revoked = await clerk.m2m.list({ subject: caller.id, revoked: true });
  assert.equal(revoked.totalCount, 2);
});

test('apiKeys.create, verify, revoke', async () => {
  const key = await clerk.apiKeys.create({
    name: 'compat key',
    subject: apiKeyOwner,
    scopes: ['read:invoices'],
    claims: { tier: 'gold' },
    secondsUntilExpiration: 600,
  });
  assert.match(key.id, /^ak_[0-9a-f]{32}$/);
  assert.match(key.secret, /^ak_/);
  assert.equal(key.subject, apiKeyOwner);
  assert.equal(key.type, 'api_key');

  const verified = await clerk.apiKeys.verify(key.secret);
  assert.equal(verified.id, key.id);
  assert.deepEqual(verified.scopes, ['read:invoices']);
  assert.deepEqual(verified.claims, { tier: 'gold' });
  assert.equal(verified.secret, undefined);

  const revoked = await clerk.apiKeys.revoke({ apiKeyId: key.id, revocationReason: 'leaked' });
  assert.equal(revoked.revoked, true);
  assert.equal(revoked.revocationReason, 'leaked');
  await assert.rejects(clerk.apiKeys.verify(key.secret), expectStatus(404));
});

test('apiKeys.create rejects a bad subject with 400', async () => {
  await assert.rejects(clerk.apiKeys.create({ name: 'bad subject', subject: 'user_short' }), expectStatus(400));
});

test('authenticateRequest acceptsToken any with an opaque M2M token', async () => {
  const { target, other, caller } = await setup();
  const tok = await machineClient(caller.secretKey).m2m.createToken({ secondsUntilExpiration: 300 });

  const state = await clerk.authenticateRequest(bearer(tok.token), { acceptsToken: 'any' });
  assert.equal(state.isAuthenticated, true, `${state.reason} ${state.message}`);
  assert.equal(state.tokenType, 'm2m_token');
  const auth = state.toAuth();
  assert.equal(auth.machineId, caller.id);
  assert.equal(auth.id, tok.id);

  // With the receiving machine's key, Clerk enforces the token's scopes.
  const scoped = await clerk.authenticateRequest(bearer(tok.token), {
    acceptsToken: 'any',
    machineSecretKey: target.secretKey,
  });
  assert.equal(scoped.isAuthenticated, true, `${scoped.reason} ${scoped.message}`);
  const unscoped = await clerk.authenticateRequest(bearer(tok.token), {
    acceptsToken: 'any',
    machineSecretKey: other.secretKey,
  });
  assert.equal(unscoped.isAuthenticated, false);
  assert.equal(unscoped.reason, 'token-invalid');
});

test('authenticateRequest acceptsToken any with a JWT M2M token', async () => {
  const { caller } = await setup();
  const tok = await machineClient(caller.secretKey).m2m.createToken({ tokenFormat: 'jwt', secondsUntilExpiration: 60 });
  const state = await clerk.authenticateRequest(bearer(tok.token), { acceptsToken: 'any' });
  assert.equal(state.isAuthenticated, true, `${state.reason} ${state.message}`);
  assert.equal(state.tokenType, 'm2m_token');
  assert.equal(state.toAuth().machineId, caller.id);
});

test('authenticateRequest acceptsToken any with an API key', async () => {
  const key = await clerk.apiKeys.create({ name: 'any key', subject: apiKeyOwner, scopes: ['write'] });
  const state = await clerk.authenticateRequest(bearer(key.secret), { acceptsToken: 'any' });
  assert.equal(state.isAuthenticated, true, `${state.reason} ${state.message}`);
  assert.equal(state.tokenType, 'api_key');
  const auth = state.toAuth();
  assert.equal(auth.userId, apiKeyOwner);
  assert.deepEqual(auth.scopes, ['write']);

  await clerk.apiKeys.revoke({ apiKeyId: key.id });
  const after = await clerk.authenticateRequest(bearer(key.secret), { acceptsToken: 'any' });
  assert.equal(after.isAuthenticated, false);
  assert.equal(after.reason, 'token-invalid');
});

test('idPOAuthAccessToken.verify with an opaque token; unknown tokens are 404', async () => {
  const verified = await clerk.idPOAuthAccessToken.verify(env('CLERKTEST_OAUTH_TOKEN'));
  assert.equal(verified.subject, env('CLERKTEST_OAUTH_USER_ID'));
  assert.equal(verified.clientId, env('CLERKTEST_OAUTH_CLIENT_ID'));
  assert.deepEqual(verified.scopes, ['profile', 'email']);
  await assert.rejects(clerk.idPOAuthAccessToken.verify('oat_unknown'), expectStatus(404));
});

test('authenticateRequest acceptsToken oauth_token with JWT and opaque tokens', async () => {
  for (const token of [env('CLERKTEST_OAUTH_JWT'), env('CLERKTEST_OAUTH_TOKEN')]) {
    const state = await clerk.authenticateRequest(bearer(token), { acceptsToken: 'oauth_token' });
    assert.equal(state.isAuthenticated, true, `${state.reason} ${state.message}`);
    const auth = state.toAuth();
    assert.equal(auth.userId, env('CLERKTEST_OAUTH_USER_ID'));
    assert.equal(auth.clientId, env('CLERKTEST_OAUTH_CLIENT_ID'));
  }
});
