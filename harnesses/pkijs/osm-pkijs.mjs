#!/usr/bin/env node
// osm-pkijs: the suite's PKI.js calls (SignedData, EnvelopedData, path checking), one
// program in two modes (README.md):
//   node osm-pkijs.mjs VERB [OPTIONS]   one call, then exit (`--engine-mode cli`);
//   node osm-pkijs.mjs --serve          osm-harness/1 on stdin/stdout (../README.md).
// PKI.js does CMS only: the S/MIME MIME around it is the suite's (mime_wrap.py). The
// cryptography is Node's WebCrypto, which PKI.js drives: what WebCrypto lacks (RSAES-
// PKCS1-v1_5 encryption, DES, RC2) fails with the library's own error, printed as is.
// PKI.js and asn1js are loaded from the project's cache (the folder `make -C
// harnesses/pkijs` fills with `npm ci`), found as conformance/paths.py finds it.

import { readFileSync, writeFileSync, realpathSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { webcrypto } from "node:crypto";

const PROTOCOL = "osm-harness/1";
const DECLINED = "osm-harness: not implemented here: ";
const SELF = realpathSync(fileURLToPath(import.meta.url));

const OID = {
  data: "1.2.840.113549.1.7.1",
  signedData: "1.2.840.113549.1.7.2",
  envelopedData: "1.2.840.113549.1.7.3",
  authEnvelopedData: "1.2.840.113549.1.9.16.1.23",
  contentType: "1.2.840.113549.1.9.3",
  messageDigest: "1.2.840.113549.1.9.4",
  signingTime: "1.2.840.113549.1.9.5",
  smimeCapabilities: "1.2.840.113549.1.9.15",
  signingCertificateV2: "1.2.840.113549.1.9.16.2.47",
  aes256cbc: "2.16.840.1.101.3.4.1.42",
  aes128cbc: "2.16.840.1.101.3.4.1.2",
  rsaOaep: "1.2.840.113549.1.1.7",
  sha256: "2.16.840.1.101.3.4.2.1",
};
const HASHES = { sha1: "SHA-1", sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };
// The suite's cipher names -> the WebCrypto algorithm PKI.js is asked for.
const CIPHERS = {
  "aes128-cbc": { name: "AES-CBC", length: 128 },
  "aes192-cbc": { name: "AES-CBC", length: 192 },
  "aes256-cbc": { name: "AES-CBC", length: 256 },
  "aes128-gcm": { name: "AES-GCM", length: 128 },
  "aes256-gcm": { name: "AES-GCM", length: 256 },
  // WebCrypto has no DES nor RC2: PKI.js is asked anyway and its error is the answer.
  "des-ede3-cbc": { name: "DES-EDE3-CBC", length: 192 },
  "rc2-40-cbc": { name: "RC2-CBC", length: 40 },
  "rc2-128-cbc": { name: "RC2-CBC", length: 128 },
};

class Usage extends Error {}
class Declined extends Error {}
// A failure with the stage it happened at (the agents classify on it) and the library's words.
class Failure extends Error {
  constructor(stage, message) {
    super(`${stage}: ${message}`);
    this.stage = stage;
  }
}

// -- the library, from the project's cache ------------------------------------------------

function cacheDir() {
  const env = process.env.OSM_CONFORMANCE_CACHE;
  if (env) return env;
  const xdg = process.env.XDG_CACHE_HOME;
  const root = xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache");
  return join(root, "osm-conformance");
}

export const PREFIX = join(cacheDir(), "pkijs");

let lib = null;
async function library() {
  if (lib) return lib;
  const manifest = join(PREFIX, "node_modules", "pkijs", "package.json");
  if (!existsSync(manifest)) {
    throw new Failure(
      "setup",
      `PKI.js is not installed in ${PREFIX}: run make -C harnesses/pkijs (npm ci from the ` +
        "committed package-lock.json)",
    );
  }
  const require = createRequire(join(PREFIX, "package.json"));
  const pkijs = await import(pathToFileURL(require.resolve("pkijs")).href);
  const asn1js = await import(pathToFileURL(require.resolve("asn1js")).href);
  pkijs.setEngine("node-webcrypto", new pkijs.CryptoEngine({ name: "node", crypto: webcrypto }));
  const versions = {
    pkijs: JSON.parse(readFileSync(manifest, "utf8")).version,
    asn1js: JSON.parse(readFileSync(join(PREFIX, "node_modules", "asn1js", "package.json"), "utf8"))
      .version,
  };
  lib = { pkijs, asn1js, versions, subtle: webcrypto.subtle };
  return lib;
}

// -- arguments and files ------------------------------------------------------------------

function parse(argv, spec) {
  // spec: {flag: "value" | "list" | "bool"}
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const kind = spec[arg];
    if (kind === undefined) throw new Usage(`unknown option ${arg}`);
    const key = arg.replace(/^--/, "");
    if (kind === "bool") {
      out[key] = true;
      continue;
    }
    if (i + 1 >= argv.length) throw new Usage(`${arg} needs a value`);
    const value = argv[++i];
    if (kind === "list") (out[key] ??= []).push(value);
    else out[key] = value;
  }
  return out;
}

function need(opts, ...keys) {
  for (const key of keys) if (opts[key] === undefined) throw new Usage(`--${key} is required`);
}

function fileReader(cwd) {
  return {
    read(path) {
      try {
        return new Uint8Array(readFileSync(resolve(cwd, path)));
      } catch (err) {
        throw new Failure("input", `cannot read ${path}: ${err.message}`);
      }
    },
    write(path, data) {
      writeFileSync(resolve(cwd, path), data);
    },
  };
}

const buf = (view) => view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);

// All PEM blocks of one label in a file, as DER; a file without PEM is taken as DER.
function pemBlocks(data, label) {
  const text = Buffer.from(data).toString("latin1");
  if (!text.includes("-----BEGIN")) return [data];
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, "g");
  return [...text.matchAll(re)].map((m) => new Uint8Array(Buffer.from(m[1], "base64")));
}

function certificates(lib, files, paths) {
  const out = [];
  for (const path of paths ?? []) {
    for (const der of pemBlocks(files.read(path), "CERTIFICATE")) {
      try {
        out.push(lib.pkijs.Certificate.fromBER(buf(der)));
      } catch (err) {
        throw new Failure("input", `${path}: not a certificate PKI.js reads: ${err.message}`);
      }
    }
  }
  return out;
}

function oneCertificate(lib, files, path) {
  const [cert] = certificates(lib, files, [path]);
  if (!cert) throw new Failure("input", `${path}: no certificate`);
  return cert;
}

function pem(der, label) {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

// asn1js's limits that grow with the message (its defaults, which PKI.js's fromBER keeps):
// over them PKI.js reads nothing of it, whatever it holds, so the answer is a size limit of
// PKI.js (stage `too large`), not a malformed message. Its nesting limit stays `parse`.
const ASN1_SIZE_LIMITS = {
  "Maximum ASN.1 content length exceeded": (asn1js) =>
    `an element longer than ${asn1js.DEFAULT_MAX_CONTENT_LENGTH} bytes (asn1js maxContentLength)`,
  "Maximum ASN.1 node count exceeded": (asn1js) =>
    `more than ${asn1js.DEFAULT_MAX_NODES} ASN.1 elements (asn1js maxNodes; each piece of ` +
    "a content written in pieces counts, and what asn1js tries to read inside it)",
};

// PKI.js's ContentInfo.fromBER is asn1js.fromBER then `new ContentInfo({schema})`; done here
// in its two steps to keep asn1js's reason, which PKI.js replaces with "Data is not correct
// for 'ContentInfo'". asn1js copies its input: `der` is given as it is, not copied first.
function contentInfo(lib, der, where) {
  const { asn1js, pkijs } = lib;
  const asn1 = asn1js.fromBER(der);
  if (asn1.offset === -1) {
    const reason = asn1.result.error || "not BER";
    const limit = ASN1_SIZE_LIMITS[reason];
    if (limit) {
      throw new Failure(
        "too large",
        `${where}: ${der.byteLength} bytes, over what PKI.js ${lib.versions.pkijs} reads: ` +
          `${limit(asn1js)}: asn1js ${lib.versions.asn1js}: ${reason}`,
      );
    }
    throw new Failure("parse", `${where}: not a CMS ContentInfo PKI.js reads: asn1js: ${reason}`);
  }
  try {
    return new pkijs.ContentInfo({ schema: asn1.result });
  } catch (err) {
    throw new Failure("parse", `${where}: not a CMS ContentInfo PKI.js reads: ${err.message}`);
  }
}

async function privateKey(lib, files, path, algorithm, usages) {
  const [der] = pemBlocks(files.read(path), "PRIVATE KEY");
  if (!der) throw new Failure("input", `${path}: no PKCS#8 PRIVATE KEY`);
  try {
    return await lib.subtle.importKey("pkcs8", der, algorithm, false, usages);
  } catch (err) {
    throw new Failure("key", `WebCrypto importKey(pkcs8, ${algorithm.name}): ${err.message}`);
  }
}

// -- sign -----------------------------------------------------------------------------------

const SIGN = {
  "--cert": "value",
  "--key": "value",
  "--in": "value",
  "--out": "value",
  "--certfile": "value",
  "--digest": "value",
  "--attrs": "value",
  "--detached": "bool",
  "--pss": "bool",
  "--nocerts": "bool",
  "--keyid": "bool",
};

async function sign(argv, files, io) {
  const o = parse(argv, SIGN);
  need(o, "cert", "key", "in", "out");
  const lib = await library();
  const { pkijs, asn1js, subtle } = lib;
  const hash = HASHES[o.digest ?? "sha256"];
  if (!hash) throw new Usage(`--digest ${o.digest}: one of ${Object.keys(HASHES).join(", ")}`);
  const signer = oneCertificate(lib, files, o.cert);
  const chain = certificates(lib, files, o.certfile ? [o.certfile] : []);
  const algorithm = o.pss
    ? { name: "RSA-PSS", hash: { name: hash } }
    : { name: "RSASSA-PKCS1-v1_5", hash: { name: hash } };
  const key = await privateKey(lib, files, o.key, algorithm, ["sign"]);
  const data = files.read(o.in);
  const attrs = o.attrs === undefined ? ["content-type", "message-digest", "signing-time"]
    : o.attrs.split(",").filter(Boolean);
  let sid;
  let version = 1;
  if (o.keyid) {
    const ski = signer.extensions?.find((e) => e.extnID === "2.5.29.14");
    if (!ski) throw new Failure("sign", "--keyid: the signer certificate has no subjectKeyIdentifier");
    sid = new asn1js.Primitive({
      idBlock: { tagClass: 3, tagNumber: 0 },
      valueHex: ski.parsedValue.valueBlock.valueHexView,
    });
    version = 3;
  } else {
    sid = new pkijs.IssuerAndSerialNumber({ issuer: signer.issuer, serialNumber: signer.serialNumber });
  }
  const signerInfo = new pkijs.SignerInfo({ version, sid });
  if (attrs.length) {
    const digest = new Uint8Array(await subtle.digest(hash, data));
    const list = [];
    for (const name of attrs) {
      if (name === "content-type") {
        list.push(attribute(pkijs, OID.contentType, new asn1js.ObjectIdentifier({ value: OID.data })));
      } else if (name === "message-digest") {
        list.push(attribute(pkijs, OID.messageDigest, new asn1js.OctetString({ valueHex: digest })));
      } else if (name === "signing-time") {
        list.push(attribute(pkijs, OID.signingTime, new asn1js.UTCTime({ valueDate: new Date() })));
      } else if (name === "smime-capabilities") {
        const cap = (oid) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid })] });
        list.push(attribute(pkijs, OID.smimeCapabilities, new asn1js.Sequence({
          value: [cap(OID.aes256cbc), cap(OID.aes128cbc), cap(OID.rsaOaep)],
        })));
      } else if (name === "signing-certificate-v2") {
        // ESSCertIDv2 with the default hash (SHA-256) and no issuerSerial (RFC 5035).
        const certHash = new Uint8Array(await subtle.digest("SHA-256", signer.toSchema().toBER()));
        const essCertId = new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: certHash })] });
        list.push(attribute(pkijs, OID.signingCertificateV2, new asn1js.Sequence({
          value: [new asn1js.Sequence({ value: [essCertId] })],
        })));
      } else {
        throw new Usage(`--attrs: unknown signed attribute ${name}`);
      }
    }
    signerInfo.signedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: list });
  }
  const encap = new pkijs.EncapsulatedContentInfo({ eContentType: OID.data });
  if (!o.detached) encap.eContent = new asn1js.OctetString({ valueHex: data });
  const signed = new pkijs.SignedData({
    version: o.keyid ? 3 : 1,
    encapContentInfo: encap,
    signerInfos: [signerInfo],
  });
  if (!o.nocerts) signed.certificates = [signer, ...chain];
  try {
    await signed.sign(key, 0, hash, o.detached ? buf(data) : undefined);
  } catch (err) {
    throw new Failure("sign", `SignedData.sign: ${err.message}`);
  }
  const info = new pkijs.ContentInfo({ contentType: OID.signedData, content: signed.toSchema(true) });
  files.write(o.out, new Uint8Array(info.toSchema().toBER()));
  return 0;
}

function attribute(pkijs, type, value) {
  return new pkijs.Attribute({ type, values: [value] });
}

// -- encrypt --------------------------------------------------------------------------------

const ENCRYPT = {
  "--in": "value",
  "--out": "value",
  "--cipher": "value",
  "--recip": "list",
  "--oaep": "value",
  "--pkcs1": "bool",
};

async function encrypt(argv, files, io) {
  const o = parse(argv, ENCRYPT);
  need(o, "in", "out", "cipher", "recip");
  const lib = await library();
  const { pkijs } = lib;
  const cipher = CIPHERS[o.cipher];
  if (!cipher) throw new Usage(`--cipher ${o.cipher}: one of ${Object.keys(CIPHERS).join(", ")}`);
  if (o.pkcs1 && o.oaep) throw new Usage("--pkcs1 and --oaep exclude each other");
  const oaepHash = HASHES[o.oaep ?? "sha256"];
  if (!oaepHash) throw new Usage(`--oaep ${o.oaep}: one of ${Object.keys(HASHES).join(", ")}`);
  const enveloped = new pkijs.EnvelopedData();
  for (const cert of certificates(lib, files, o.recip)) {
    try {
      enveloped.addRecipientByCertificate(cert, { useOAEP: !o.pkcs1, oaepHashAlgorithm: oaepHash });
    } catch (err) {
      throw new Failure("encrypt", `EnvelopedData.addRecipientByCertificate: ${err.message}`);
    }
  }
  try {
    await enveloped.encrypt(cipher, buf(files.read(o.in)));
  } catch (err) {
    const transport = o.pkcs1 ? "RSAES-PKCS1-v1_5" : `RSA-OAEP ${oaepHash}`;
    throw new Failure(
      "encrypt",
      `EnvelopedData.encrypt (content ${cipher.name}-${cipher.length}, key transport ${transport}): ` +
        `${err.name}: ${err.message}`,
    );
  }
  const info = new pkijs.ContentInfo({ contentType: OID.envelopedData, content: enveloped.toSchema() });
  files.write(o.out, new Uint8Array(info.toSchema().toBER()));
  return 0;
}

// -- decrypt --------------------------------------------------------------------------------

const DECRYPT = { "--in": "value", "--out": "value", "--cert": "value", "--key": "value" };

function sameRecipient(pkijs, rid, cert) {
  if (rid instanceof pkijs.IssuerAndSerialNumber) {
    return rid.issuer.isEqual(cert.issuer) && rid.serialNumber.isEqual(cert.serialNumber);
  }
  const ski = cert.extensions?.find((e) => e.extnID === "2.5.29.14");
  const mine = ski ? Buffer.from(ski.parsedValue.valueBlock.valueHexView) : null;
  const theirs = rid?.valueBlock?.valueHexView ? Buffer.from(rid.valueBlock.valueHexView) : null;
  return Boolean(mine && theirs && mine.equals(theirs));
}

async function decrypt(argv, files, io) {
  const o = parse(argv, DECRYPT);
  need(o, "in", "out", "cert", "key");
  const lib = await library();
  const { pkijs } = lib;
  const info = contentInfo(lib, files.read(o.in), o.in);
  if (info.contentType === OID.authEnvelopedData) {
    throw new Failure(
      "unsupported",
      `content type ${info.contentType} (AuthEnvelopedData, RFC 5083): PKI.js ${lib.versions.pkijs} ` +
        "exports no AuthEnvelopedData class",
    );
  }
  if (info.contentType !== OID.envelopedData) {
    throw new Failure("parse", `content type ${info.contentType} is not EnvelopedData`);
  }
  let enveloped;
  try {
    enveloped = new pkijs.EnvelopedData({ schema: info.content });
  } catch (err) {
    throw new Failure("parse", `EnvelopedData: ${err.message}`);
  }
  const cert = oneCertificate(lib, files, o.cert);
  const index = enveloped.recipientInfos.findIndex(
    (ri) => ri.variant === 1 && sameRecipient(pkijs, ri.value.rid, cert),
  );
  if (index < 0) {
    throw new Failure(
      "no recipient",
      `none of the ${enveloped.recipientInfos.length} RecipientInfos names ${o.cert}`,
    );
  }
  const [der] = pemBlocks(files.read(o.key), "PRIVATE KEY");
  if (!der) throw new Failure("input", `${o.key}: no PKCS#8 PRIVATE KEY`);
  let plain;
  try {
    plain = await enveloped.decrypt(index, { recipientCertificate: cert, recipientPrivateKey: buf(der) });
  } catch (err) {
    const named = (oid) => {
      const found = pkijs.getCrypto(true).getAlgorithmByOID(oid);
      return found?.name ? `${found.name}${found.length ? `-${found.length}` : ""} ${oid}` : oid;
    };
    const alg = named(enveloped.recipientInfos[index].value.keyEncryptionAlgorithm.algorithmId);
    const content = named(enveloped.encryptedContentInfo.contentEncryptionAlgorithm.algorithmId);
    throw new Failure(
      "decrypt",
      `EnvelopedData.decrypt (key transport ${alg}, content ${content}): ${err.name}: ${err.message}`,
    );
  }
  files.write(o.out, new Uint8Array(plain));
  return 0;
}

// -- verify ---------------------------------------------------------------------------------

const VERIFY = {
  "--in": "value",
  "--content": "value",
  "--out": "value",
  "--signer": "value",
  "--trust": "list",
  "--crl": "list",
};

async function verify(argv, files, io) {
  const o = parse(argv, VERIFY);
  need(o, "in");
  const lib = await library();
  const { pkijs } = lib;
  const info = contentInfo(lib, files.read(o.in), o.in);
  if (info.contentType !== OID.signedData) {
    throw new Failure("parse", `content type ${info.contentType} is not SignedData`);
  }
  let signed;
  try {
    signed = new pkijs.SignedData({ schema: info.content });
  } catch (err) {
    throw new Failure("parse", `SignedData: ${err.message}`);
  }
  const detached = o.content !== undefined ? files.read(o.content) : null;
  const eContent = signed.encapContentInfo.eContent;
  if (!eContent && detached === null) throw new Failure("parse", "no content: detached and no --content");
  if (!signed.signerInfos.length) throw new Failure("parse", "SignedData has no SignerInfo");
  const lines = [];
  let signatureOk = true;
  let signer = null;
  for (let i = 0; i < signed.signerInfos.length; i++) {
    let result;
    try {
      result = await signed.verify({
        signer: i,
        data: detached ? buf(detached) : undefined,
        extendedMode: true,
        checkChain: false,
      });
      signer ??= result.signerCertificate;
      if (result.signatureVerified) lines.push(`signature ${i}: ok`);
      else {
        signatureOk = false;
        lines.push(`signature ${i}: failed: the signature value does not verify (code ${result.code})`);
      }
    } catch (err) {
      signatureOk = false;
      signer ??= err.signerCertificate ?? null;
      lines.push(`signature ${i}: failed: ${err.message} (code ${err.code ?? "?"})`);
    }
  }
  let chainOk = true;
  const trusted = certificates(lib, files, o.trust);
  if (!trusted.length) {
    lines.push("chain: not checked (no trust anchor given)");
  } else if (signer === null) {
    chainOk = false;
    lines.push("chain: failed: no signer certificate to validate");
  } else {
    const crls = [];
    for (const path of o.crl ?? []) {
      for (const der of pemBlocks(files.read(path), "X509 CRL")) {
        try {
          crls.push(pkijs.CertificateRevocationList.fromBER(buf(der)));
        } catch (err) {
          throw new Failure("input", `${path}: not a CRL PKI.js reads: ${err.message}`);
        }
      }
    }
    const others = (signed.certificates ?? []).filter((c) => c instanceof pkijs.Certificate);
    const engine = new pkijs.CertificateChainValidationEngine({
      trustedCerts: trusted,
      certs: [...others.filter((c) => c !== signer), signer],
      crls,
      checkDate: new Date(),
    });
    let verdict;
    try {
      verdict = await engine.verify();
    } catch (err) {
      verdict = { result: false, resultCode: err.code ?? err.resultCode, resultMessage: err.message ?? err.resultMessage ?? String(err) };
    }
    if (verdict.result) lines.push(`chain: ok (${verdict.certificatePath?.length ?? "?"} certificates, ${crls.length} CRLs)`);
    else {
      chainOk = false;
      lines.push(`chain: failed: ${verdict.resultMessage} (code ${verdict.resultCode})`);
    }
  }
  if (signer && o.signer) files.write(o.signer, pem(signer.toSchema().toBER(), "CERTIFICATE"));
  if (o.out) {
    const content = detached ?? (eContent.idBlock.tagClass === 1 && eContent.idBlock.tagNumber === 4
      ? new Uint8Array(eContent.getValue())
      : null);
    if (content) files.write(o.out, content);
  }
  io.out.push(lines.join("\n") + "\n");
  return signatureOk && chainOk ? 0 : 1;
}

// -- the two modes ----------------------------------------------------------------------------

async function version(argv, files, io) {
  if (argv.length) throw new Usage("version takes no option");
  const lib = await library();
  io.out.push(
    `PKI.js ${lib.versions.pkijs} (asn1js ${lib.versions.asn1js}, Node ${process.version} WebCrypto)\n`,
  );
  return 0;
}

const VERBS = { sign, encrypt, decrypt, verify, version };
const USAGE = `usage: osm-pkijs.mjs {sign|encrypt|decrypt|verify|version} [options] | --serve (README.md)`;

// One call: exit code, stdout and stderr as the command line prints them.
async function call(argv, cwd) {
  const io = { out: [], err: [] };
  let code;
  try {
    const verb = VERBS[argv[0]];
    if (!verb) throw new Usage(argv.length ? `unknown verb ${argv[0]}` : "no verb");
    code = await verb(argv.slice(1), fileReader(cwd), io);
  } catch (err) {
    if (err instanceof Usage) {
      io.err.push(`osm-pkijs: ${err.message}\n${USAGE}\n`);
      code = 2;
    } else if (err instanceof Failure) {
      io.err.push(`osm-pkijs ${argv[0]}: ${err.message}\n`);
      code = 1;
    } else {
      // What was thrown and where, on one line: no stack dump in a cell's reason.
      const where = String(err?.stack ?? "").split("\n").find((l) => l.trim().startsWith("at "));
      const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      io.err.push(`osm-pkijs ${argv[0]}: internal: ${what}${where ? ` (${where.trim()})` : ""}\n`);
      code = 3;
    }
  }
  return { code, stdout: io.out.join(""), stderr: io.err.join("") };
}

async function serve() {
  let hello;
  try {
    const lib = await library();
    hello = `PKI.js ${lib.versions.pkijs} (asn1js ${lib.versions.asn1js}, Node ${process.version} WebCrypto)`;
  } catch (err) {
    process.stderr.write(`osm-pkijs: ${err.message}\n`);
    process.exit(1);
  }
  const write = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
  write({ protocol: PROTOCOL, implementation: "osm-pkijs", version: hello });
  const b64 = (text) => Buffer.from(text, "utf8").toString("base64");
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    let request;
    try {
      request = JSON.parse(line);
      if (!Array.isArray(request.argv)) throw new Error("argv is not a list");
    } catch (err) {
      write({ id: null, exit: 2, stdout: "", stderr: b64(`osm-pkijs: bad request: ${err.message}\n`) });
      continue;
    }
    // The argv `node` would have received: this script first, then its arguments.
    const [script, ...rest] = request.argv.map(String);
    let reply;
    if (script === undefined || !existsSync(resolve(request.cwd ?? ".", script))
        || realpathSync(resolve(request.cwd ?? ".", script)) !== SELF || rest[0] === "--serve") {
      reply = { code: 2, stdout: "", stderr: `${DECLINED}${request.argv.join(" ")}\n` };
    } else {
      reply = await call(rest, request.cwd ?? process.cwd());
    }
    write({ id: request.id, exit: reply.code, stdout: b64(reply.stdout), stderr: b64(reply.stderr) });
  }
}

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === "--serve") {
  await serve();
} else {
  const reply = await call(args, process.cwd());
  process.stdout.write(reply.stdout);
  process.stderr.write(reply.stderr);
  process.exitCode = reply.code;
}
