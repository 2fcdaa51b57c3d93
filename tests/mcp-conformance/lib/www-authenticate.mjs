// A strict parser of the WWW-Authenticate field (RFC 9110 §11.6.1), written for the conformance
// suite: a server that sends anything a careful client cannot parse fails the check that saw it.
//
//   WWW-Authenticate = #challenge                                        (RFC 9110 §11.6.1)
//   challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]         (RFC 9110 §11.6.1)
//   auth-param  = token BWS "=" BWS ( token / quoted-string )            (RFC 9110 §11.2)
//   token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//   quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE              (RFC 9110 §5.6.4)
//   qdtext      = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
//   quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
//   #rule lists: elements separated by OWS "," OWS; empty elements are ignored (RFC 9110 §5.6.1)
//
// Several header lines are one list joined with ", " (RFC 9110 §5.3), so `Bearer ..., DPoP ...`
// in one line and two separate lines parse alike. Refused: an unterminated or ill-formed
// quoted-string, a control character, a parameter without a value, a parameter name repeated in
// one challenge ("each parameter name MUST only occur once per challenge", RFC 9110 §11.2), and
// anything else the grammar does not produce.

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

export class WwwAuthenticateError extends Error {}

function fail(text, at, why) {
  const shown = text.length > 160 ? `${text.slice(0, 160)}…` : text;
  throw new WwwAuthenticateError(`${why} at offset ${at} of ${JSON.stringify(shown)}`);
}

/**
 * Parses a WWW-Authenticate value (or several, given as an array: one per header line).
 * Returns [{ scheme, params: { lower-cased name: value }, token68 }], schemes as sent.
 * Throws WwwAuthenticateError on anything RFC 9110 does not allow.
 */
export function parseWwwAuthenticate(input) {
  const text = Array.isArray(input) ? input.join(', ') : String(input);
  let i = 0;
  const peek = () => text[i];
  const atEnd = () => i >= text.length;

  for (let k = 0; k < text.length; k++) {
    const code = text.charCodeAt(k);
    // Field values: VCHAR, SP, HTAB and obs-text (RFC 9110 §5.5); never CR, LF, NUL or DEL.
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) fail(text, k, `control character 0x${code.toString(16)}`);
  }

  const ows = () => {
    while (!atEnd() && (peek() === ' ' || peek() === '\t')) i++;
  };
  const token = () => {
    const start = i;
    while (!atEnd() && TCHAR.test(peek())) i++;
    return text.slice(start, i);
  };
  // After a list element: OWS, then the end or one or more commas (empty elements allowed).
  const listSeparator = () => {
    ows();
    if (atEnd()) return false;
    if (peek() !== ',') fail(text, i, `expected "," or the end, found ${JSON.stringify(peek())}`);
    while (!atEnd() && (peek() === ',' || peek() === ' ' || peek() === '\t')) i++;
    return !atEnd();
  };
  const quoted = () => {
    const start = i;
    i++; // the opening DQUOTE
    let value = '';
    while (!atEnd()) {
      const c = text[i++];
      if (c === '"') return value;
      if (c === '\\') {
        if (atEnd()) break;
        value += text[i++];
      } else {
        value += c;
      }
    }
    return fail(text, start, 'unterminated quoted-string');
  };

  const challenges = [];
  // Leading empty list elements.
  while (!atEnd() && (peek() === ',' || peek() === ' ' || peek() === '\t')) i++;
  while (!atEnd()) {
    const schemeAt = i;
    const scheme = token();
    if (!scheme) fail(text, schemeAt, `expected an auth-scheme, found ${JSON.stringify(peek())}`);
    const challenge = { scheme, params: {}, token68: undefined };
    challenges.push(challenge);
    if (atEnd()) break;
    if (peek() === ',') {
      if (!listSeparator()) break;
      continue;
    }
    if (peek() !== ' ' && peek() !== '\t') fail(text, i, `expected SP after the auth-scheme ${JSON.stringify(scheme)}`);
    ows();
    if (atEnd()) break;
    if (peek() === ',') {
      if (!listSeparator()) break;
      continue;
    }

    // token68: the whole rest of this challenge, up to OWS and "," or the end.
    {
      const start = i;
      let j = i;
      while (j < text.length && TOKEN68_CHAR.test(text[j])) j++;
      let k = j;
      while (k < text.length && text[k] === '=') k++;
      let m = k;
      while (m < text.length && (text[m] === ' ' || text[m] === '\t')) m++;
      // `name=value` is a parameter; `abc`, `abc=` or `abc==` followed by "," or the end is a
      // token68 (a parameter value cannot be empty).
      if (j > start && (m >= text.length || text[m] === ',')) {
        challenge.token68 = text.slice(start, k);
        i = m;
        if (!listSeparator()) break;
        continue;
      }
    }

    // #auth-param, until something that is not `name =`, which starts the next challenge.
    let first = true;
    for (;;) {
      const nameAt = i;
      const name = token();
      if (!name) fail(text, i, `expected an auth-param, found ${JSON.stringify(peek())}`);
      ows();
      if (peek() !== '=') {
        if (first) fail(text, nameAt, `expected "=" after ${JSON.stringify(name)}`);
        i = nameAt; // the next challenge's scheme
        break;
      }
      i++;
      ows();
      let value;
      if (peek() === '"') {
        value = quoted();
      } else {
        value = token();
        if (!value) fail(text, i, `auth-param ${JSON.stringify(name)} has no value`);
      }
      const key = name.toLowerCase();
      if (Object.hasOwn(challenge.params, key)) fail(text, nameAt, `auth-param ${JSON.stringify(name)} repeated in one challenge`);
      challenge.params[key] = value;
      first = false;
      if (!listSeparator()) break;
    }
  }
  return challenges;
}

/** The challenges whose scheme is `scheme` (case-insensitive, RFC 9110 §11.1). */
export function challengesOf(challenges, scheme) {
  return challenges.filter((c) => c.scheme.toLowerCase() === scheme.toLowerCase());
}
