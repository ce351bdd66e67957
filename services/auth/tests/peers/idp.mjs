// A real OpenID provider on loopback for auth's single sign-on suites: oidc-provider with its
// development interactions (a login form taking any login name, then a consent form).
//
//   node idp.mjs '<config JSON>'
//   config: {"port": N, "clients": [oidc-provider client metadata…]}
//
// Any login name signs in, and it is the account: "alice@example.com" has that email, verified;
// "unverified:bob@example.com" has bob@example.com, not verified.
//
// Prints one line "ready <issuer>" once it listens; stops on SIGTERM.
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: config.clients,
  async findAccount(ctx, id) {
    const unverified = id.startsWith('unverified:');
    const email = unverified ? id.slice('unverified:'.length) : id;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email, email_verified: !unverified, name: email.split('@')[0] };
      },
    };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['techcorp-sso-suite-cookie-key'] },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
