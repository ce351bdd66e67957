// A real SAML 2.0 identity provider on loopback for auth's SAML single sign-on suites: samlify
// builds and signs the responses (XML-DSig, RSA-SHA256, exclusive c14n), its xmllint-wasm plugin
// checks every AuthnRequest and every response it signs against the SAML schemas, and each
// response can be bent in one way for the negative tests.
//
//   node saml_idp.mjs '<config JSON>'
//   config: {"port": N}
//
// At start it makes two RSA-2048 keys with self-signed certificates: "own", the signing key its
// metadata publishes, and "foreign", an attacker's.
//
//   GET  /metadata                the IdP's metadata (entityID http://127.0.0.1:N/idp,
//                                 HTTP-Redirect single sign-on at /sso)
//   GET  /cert[?which=foreign]    a certificate as PEM, for checking signatures outside the SP
//   GET  /health
//   POST /login {"sp_metadata", "saml_request" (the SAMLRequest of an HTTP-Redirect, or null
//                for IdP-initiated), "relay_state", "user": {"email", "name", "groups"},
//                "options"}
//     → {"saml_response" (base64, as HTTP-POST sends it), "acs", "relay_state", "request_id",
//        "xml"}; 400 {"error"} when the request or the options are refused.
//
// options, each changing one thing: audience, recipient, destination, issuer, in_response_to
// (null omits it), name_id; not_on_or_after_s, not_before_s (seconds from now); status (a
// StatusCode instead of Success: no assertion then); sign: "assertion" (default), "response",
// "both", "none", "foreign" (the assertion signed with the foreign key, its cert in KeyInfo);
// assertion_id; tamper_after_sign: {"email"}; xsw: "evil_first", "evil_after",
// "wrapped_in_evil", "evil_in_signed", "same_id" (unsigned evil assertion for xsw_email,
// default mallory@example.com).
//
// Prints one line "ready <base URL>" once it listens; stops on SIGTERM.
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import http from 'node:http';
import validator from '@authenio/samlify-xmllint-wasm';
// samlify's own DOM (installed with it, pinned by the lockfile): the one its signatures are made on.
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import saml from 'samlify';

const config = JSON.parse(process.argv[2]);
const base = `http://127.0.0.1:${config.port}`;
const entityID = `${base}/idp`;
const ssoURL = `${base}/sso`;

const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
};
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const SIGN_MODES = ['assertion', 'response', 'both', 'none', 'foreign'];
const XSW_MODES = ['evil_first', 'evil_after', 'wrapped_in_evil', 'evil_in_signed', 'same_id'];
const VALUE_OPTIONS = ['audience', 'recipient', 'destination', 'issuer', 'in_response_to', 'name_id',
  'status', 'assertion_id'];
const OPTIONS = [...VALUE_OPTIONS, 'not_on_or_after_s', 'not_before_s', 'sign', 'tamper_after_sign',
  'xsw', 'xsw_email'];

// Without a schema validator samlify refuses to parse any message.
saml.setSchemaValidator(validator);

// node:crypto cannot issue a certificate, so openssl makes key and certificate in one go;
// node:crypto then checks that they belong together.
function keyPair(cn) {
  const out = execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256',
    '-subj', `/CN=${cn}`, '-days', '2', '-keyout', '-', '-out', '-'], { stdio: ['ignore', 'pipe', 'pipe'] })
    .toString();
  const key = out.match(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/)[0];
  const cert = out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/)[0];
  const privateKey = createPrivateKey(key);
  if (privateKey.asymmetricKeyDetails.modulusLength !== 2048
      || !new X509Certificate(cert).checkPrivateKey(privateKey)) {
    throw new Error(`openssl made a mismatched key pair for ${cn}`);
  }
  return { key, cert };
}

const keys = { own: keyPair('techcorp-test-saml-idp'), foreign: keyPair('techcorp-test-attacker') };

const ATTRIBUTE = (name, values) => `<saml:Attribute Name="${name}" `
  + 'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">'
  + values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`).join('')
  + '</saml:Attribute>';

// samlify fills {Tags} (escaping the values, dropping attributes whose value is null); the
// attribute statement is pre-rendered because a group list has no fixed number of values.
const RESPONSE_TEMPLATE = `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}">`
  + '<saml:Issuer>{Issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{StatusCode}"/></samlp:Status>'
  + `<saml:Assertion xmlns:saml="${NS.assertion}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">`
  + '<saml:Issuer>{Issuer}</saml:Issuer>'
  + '<saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID>'
  + '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
  + '<saml:SubjectConfirmationData NotOnOrAfter="{SubjectNotOnOrAfter}" Recipient="{Recipient}" InResponseTo="{InResponseTo}"/>'
  + '</saml:SubjectConfirmation></saml:Subject>'
  + '<saml:Conditions NotBefore="{NotBefore}" NotOnOrAfter="{NotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>'
  + '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext>'
  + '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>'
  + '</saml:AuthnContext></saml:AuthnStatement>'
  + '<saml:AttributeStatement>@ATTRIBUTES@</saml:AttributeStatement>'
  + '</saml:Assertion></samlp:Response>';

function identityProvider(which) {
  return saml.IdentityProvider({
    entityID,
    signingCert: keys[which].cert,
    privateKey: keys[which].key,
    wantAuthnRequestsSigned: false,
    nameIDFormat: [EMAIL_FORMAT],
    singleSignOnService: [{ Binding: REDIRECT, Location: ssoURL }],
    loginResponseTemplate: { context: RESPONSE_TEMPLATE, attributes: [] },
  });
}

const idps = { own: identityProvider('own'), foreign: identityProvider('foreign') };

function escapeXml(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const newID = () => `_${randomBytes(20).toString('hex')}`;
const instant = (offsetSeconds = 0) => new Date(Date.now() + offsetSeconds * 1000)
  .toISOString().replace(/\.\d{3}Z$/, 'Z');

class Refused extends Error {}

function refuse(condition, message) {
  if (condition) throw new Refused(message);
}

// The HTTP-POST endpoint the SP marks as default, else the lowest index, as saml-metadata §2.2.3.
function defaultPostACS(spMeta) {
  const all = [spMeta.getAssertionConsumerService()].flat().filter((a) => a && a.binding === POST);
  refuse(all.length === 0, 'the SP metadata has no HTTP-POST AssertionConsumerService');
  const chosen = all.find((a) => a.isDefault === 'true')
    || [...all].sort((a, b) => Number(a.index ?? 0) - Number(b.index ?? 0))[0];
  return { location: chosen.location, all: all.map((a) => a.location) };
}

// Checks a strict IdP makes before it answers an AuthnRequest; the SP under test must pass them.
async function parseRequest(idp, sp, spEntityID, acs, samlRequest) {
  let parsed;
  try {
    parsed = await idp.parseLoginRequest(sp, 'redirect', { query: { SAMLRequest: samlRequest } });
  } catch (err) {
    throw new Refused(`AuthnRequest refused: ${err.message}`);
  }
  const { request, issuer } = parsed.extract;
  refuse(!request || !request.id, 'AuthnRequest without an ID');
  refuse(issuer !== spEntityID, `AuthnRequest Issuer ${issuer} is not the SP's entityID ${spEntityID}`);
  refuse(request.destination && request.destination !== ssoURL,
    `AuthnRequest Destination ${request.destination} is not ${ssoURL}`);
  const wanted = request.assertionConsumerServiceUrl;
  refuse(wanted && !acs.all.includes(wanted),
    `AuthnRequest AssertionConsumerServiceURL ${wanted} is not an HTTP-POST ACS of the SP`);
  return { id: request.id, acs: wanted || acs.location };
}

function attributeStatement(user) {
  const attrs = [ATTRIBUTE('email', [user.email])];
  if (user.name != null) attrs.push(ATTRIBUTE('name', [user.name]));
  if (user.groups != null) attrs.push(ATTRIBUTE('groups', user.groups));
  return attrs.join('');
}

function checkOptions(options) {
  for (const k of Object.keys(options)) refuse(!OPTIONS.includes(k), `unknown option ${k}`);
  refuse(options.sign !== undefined && !SIGN_MODES.includes(options.sign),
    `sign must be one of ${SIGN_MODES.join(', ')}`);
  refuse(options.xsw !== undefined && !XSW_MODES.includes(options.xsw),
    `xsw must be one of ${XSW_MODES.join(', ')}`);
  refuse(options.xsw && options.status, 'xsw needs an assertion: not with status');
  refuse(options.xsw && ['response', 'none'].includes(options.sign),
    'xsw wraps a signed assertion: sign must be assertion, both or foreign');
  refuse(options.tamper_after_sign && options.status, 'tamper_after_sign needs an assertion');
}

async function login(body) {
  const options = body.options || {};
  checkOptions(options);
  const user = body.user;
  refuse(!user || typeof user.email !== 'string', 'user.email is required');
  refuse(user.groups != null && !Array.isArray(user.groups), 'user.groups is a list');
  refuse(typeof body.sp_metadata !== 'string', 'sp_metadata is required');

  const spFromMetadata = saml.ServiceProvider({ metadata: body.sp_metadata });
  const spEntityID = spFromMetadata.entityMeta.getEntityID();
  refuse(!spEntityID, 'the SP metadata has no entityID');
  let acs = defaultPostACS(spFromMetadata.entityMeta);
  const signMode = options.sign || 'assertion';
  const idp = idps[signMode === 'foreign' ? 'foreign' : 'own'];

  let requestID = null;
  if (body.saml_request != null) {
    const req = await parseRequest(idps.own, spFromMetadata, spEntityID, acs, body.saml_request);
    requestID = req.id;
    acs = { ...acs, location: req.acs };
  }

  const status = options.status || SUCCESS;
  const hasAssertion = status === SUCCESS;
  // samlify decides what to sign from the SP's WantAssertionsSigned and wantMessageSigned, so
  // the SP it answers is rebuilt from the metadata's entityID and ACS with the flags each mode
  // needs. With nothing to sign in an assertion, samlify signs the Response instead.
  const signAssertion = hasAssertion && ['assertion', 'both', 'foreign', 'none'].includes(signMode);
  const sp = saml.ServiceProvider({
    entityID: spEntityID,
    assertionConsumerService: [{ Binding: POST, Location: acs.location }],
    wantAssertionsSigned: signAssertion,
    wantMessageSigned: signMode === 'both' || signMode === 'response',
  });

  const pick = (name, fallback) => (Object.hasOwn(options, name) ? options[name] : fallback);
  const responseID = newID();
  const tags = {
    ID: responseID,
    AssertionID: pick('assertion_id', newID()),
    IssueInstant: instant(),
    Destination: pick('destination', acs.location),
    InResponseTo: pick('in_response_to', requestID),
    Issuer: pick('issuer', entityID),
    StatusCode: status,
    NameIDFormat: EMAIL_FORMAT,
    NameID: pick('name_id', user.email),
    Recipient: pick('recipient', acs.location),
    SubjectNotOnOrAfter: instant(pick('not_on_or_after_s', 300)),
    NotBefore: instant(pick('not_before_s', -60)),
    NotOnOrAfter: instant(pick('not_on_or_after_s', 300)),
    Audience: pick('audience', spEntityID),
    SessionIndex: newID(),
  };
  const customTagReplacement = (template) => {
    let context = template.replace('@ATTRIBUTES@', attributeStatement(user));
    if (!hasAssertion) context = context.replace(/<saml:Assertion [\s\S]*<\/saml:Assertion>/, '');
    return { id: responseID, context: saml.SamlLib.replaceTagsByValue(context, tags) };
  };
  const made = await idp.createLoginResponse(sp, requestID ? { extract: { request: { id: requestID } } } : {},
    'post', user, { customTagReplacement, relayState: body.relay_state ?? undefined });
  let xml = Buffer.from(made.context, 'base64').toString('utf8');
  // What the template makes must be valid SAML; a value a test overrides may not be, on purpose.
  if (!VALUE_OPTIONS.some((k) => Object.hasOwn(options, k))) {
    try {
      await validator.validate(xml);
    } catch (err) {
      throw new Error(`the response samlify made is not schema-valid: ${err.message}`);
    }
  }

  // samlify always signs something (the Response when the assertion is not wanted signed).
  if (signMode === 'none') xml = edit(xml, (doc) => {
    for (const s of Array.from(doc.getElementsByTagNameNS(NS.dsig, 'Signature'))) s.parentNode.removeChild(s);
  });
  if (options.tamper_after_sign) xml = edit(xml, (doc) => tamper(doc, options.tamper_after_sign));
  if (options.xsw) xml = edit(xml, (doc) => wrap(doc, options.xsw, options.xsw_email || 'mallory@example.com'));

  return {
    saml_response: Buffer.from(xml, 'utf8').toString('base64'),
    acs: acs.location,
    relay_state: body.relay_state ?? null,
    request_id: requestID,
    xml,
  };
}

function edit(xml, change) {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  change(doc);
  return new XMLSerializer().serializeToString(doc);
}

const children = (el, ns, name) => Array.from(el.childNodes)
  .filter((n) => n.nodeType === 1 && n.namespaceURI === ns && n.localName === name);
const child = (el, ns, name) => children(el, ns, name)[0];

function setText(el, text) {
  while (el.firstChild) el.removeChild(el.firstChild);
  el.appendChild(el.ownerDocument.createTextNode(text));
}

// The claims a naive SP reads: the NameID and the email attribute.
function setEmail(assertion, email) {
  setText(child(child(assertion, NS.assertion, 'Subject'), NS.assertion, 'NameID'), email);
  const statement = child(assertion, NS.assertion, 'AttributeStatement');
  const attr = children(statement, NS.assertion, 'Attribute').find((a) => a.getAttribute('Name') === 'email');
  setText(child(attr, NS.assertion, 'AttributeValue'), email);
}

function tamper(doc, change) {
  refuse(typeof change.email !== 'string', 'tamper_after_sign takes {"email": …}');
  setEmail(child(doc.documentElement, NS.assertion, 'Assertion'), change.email);
}

// An unsigned copy of the assertion that speaks for the attacker.
function evilCopy(signed, email, id) {
  const evil = signed.cloneNode(true);
  const sig = child(evil, NS.dsig, 'Signature');
  if (sig) evil.removeChild(sig);
  evil.setAttribute('ID', id);
  setEmail(evil, email);
  return evil;
}

// Signature wrapping (Somorovsky et al., "On Breaking SAML", 2012): the signed assertion stays
// byte-for-byte what was signed, so its signature still verifies by its ID; the evil one sits
// where an SP that reads "the assertion" without tying it to that reference would look.
function wrap(doc, variant, email) {
  const response = doc.documentElement;
  const signed = child(response, NS.assertion, 'Assertion');
  const signature = child(signed, NS.dsig, 'Signature');
  refuse(!signature, 'xsw needs a signed assertion');
  const signedID = signed.getAttribute('ID');
  switch (variant) {
    case 'evil_first':
      response.insertBefore(evilCopy(signed, email, newID()), signed);
      break;
    case 'evil_after':
      response.insertBefore(evilCopy(signed, email, newID()), signed.nextSibling);
      break;
    case 'wrapped_in_evil': {
      // Advice may hold assertions (saml-core §2.6.1): the result is even schema-valid.
      const evil = evilCopy(signed, email, newID());
      const advice = doc.createElementNS(NS.assertion, `${signed.prefix}:Advice`);
      const conditions = child(evil, NS.assertion, 'Conditions');
      evil.insertBefore(advice, conditions.nextSibling);
      response.replaceChild(evil, signed);
      advice.appendChild(signed);
      break;
    }
    case 'evil_in_signed': {
      // The evil assertion takes the original's ID and its Signature; the original, its
      // Signature removed (the enveloped transform never covered it), rides in ds:Object.
      const evil = evilCopy(signed, email, signedID);
      signed.removeChild(signature);
      const object = doc.createElementNS(NS.dsig, `${signature.prefix ? `${signature.prefix}:` : ''}Object`);
      object.appendChild(signed.cloneNode(true));
      signature.appendChild(object);
      evil.insertBefore(signature, child(evil, NS.assertion, 'Issuer').nextSibling);
      response.replaceChild(evil, signed);
      break;
    }
    case 'same_id':
      response.insertBefore(evilCopy(signed, email, signedID), signed);
      break;
    default:
      throw new Refused(`unknown xsw ${variant}`);
  }
}

function send(res, status, body, type = 'application/json') {
  const data = type === 'application/json' ? JSON.stringify(body) : body;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

async function readJSON(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Refused('the body is not JSON');
  }
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, base);
  try {
    if (req.method === 'GET' && url.pathname === '/metadata') {
      send(res, 200, idps.own.getMetadata(), 'application/samlmetadata+xml');
    } else if (req.method === 'GET' && url.pathname === '/cert') {
      const which = url.searchParams.get('which') || 'own';
      if (!keys[which]) send(res, 404, { error: 'which is own or foreign' });
      else send(res, 200, keys[which].cert, 'application/x-pem-file');
    } else if (req.method === 'GET' && url.pathname === '/health') {
      send(res, 200, { status: 'ok' });
    } else if (req.method === 'POST' && url.pathname === '/login') {
      send(res, 200, await login(await readJSON(req)));
    } else {
      send(res, 404, { error: 'not found' });
    }
  } catch (err) {
    if (!(err instanceof Refused)) console.error(err);
    send(res, 400, { error: err.message || String(err) });
  }
});

server.listen(config.port, '127.0.0.1', () => {
  console.log(`ready ${base}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
