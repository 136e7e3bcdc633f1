// An independent OpenID Provider for mintgate's upstream OIDC tests: panva's certified
// `oidc-provider`, on 127.0.0.1 and a port the system picks.
//
// Configuration, one JSON document in the environment variable IDP_CONFIG:
//   { "client_id": "...", "client_secret": "...", "redirect_uris": ["..."],
//     "accounts": { "<login hint>": { "sub": "...", "email": "...", "email_verified": true,
//                                     "name": "...", "preferred_username": "...",
//                                     "groups": ["..."] } } }
// The interaction step signs in, without a page, the account named by the authorization
// request's `login_hint` (or the only account); the hint "deny" (or an unknown one) answers
// `error=access_denied`. Consent is granted at once. Prints `ISSUER <url>` once listening.

import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.IDP_CONFIG || '{}');
const accounts = config.accounts || {};

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const bySub = new Map(Object.values(accounts).map((a) => [a.sub, a]));

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    redirect_uris: config.redirect_uris,
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'groups'],
  },
  // The standard claims go into the ID token too (the relying party reads only the ID token).
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['mintgate-test-idp-cookie-key'] },
  async findAccount(ctx, id) {
    const account = bySub.get(id);
    if (!account) return undefined;
    return { accountId: id, async claims() { return { ...account, sub: id }; } };
  },
});
provider.proxy = false;

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const hint = details.params.login_hint;
  const names = Object.keys(accounts);
  const account = accounts[hint] || (hint === undefined && names.length === 1 ? accounts[names[0]] : undefined);
  if (!account) {
    return provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'the user declined',
    }, { mergeWithLastSubmission: false });
  }
  if (details.prompt.name === 'login') {
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } },
      { mergeWithLastSubmission: false });
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } },
    { mergeWithLastSubmission: true });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  } else {
    callback(req, res);
  }
});

process.stdout.write(`ISSUER ${issuer}\n`);
