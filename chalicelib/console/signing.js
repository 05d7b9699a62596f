// Signing a plugin zip in the browser, and putting it in the artifact bucket.
//
// A version is signed with the publisher's Ed25519 key: the signature is over the zip's SHA-256, lower-case hex
// as ASCII (chalicelib/domain/publisher_signing.py). The private key never leaves the publisher's machine: the
// console reads the key file the publisher picks (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` and the
// plugyard CLI write it), imports it as a non-extractable WebCrypto key and signs here; only the signature goes
// to the API. WebCrypto has Ed25519 in current Chromium, Firefox and Safari (17+); an engine without it (WPE
// WebKit 2.38, Safari 16) is told so, and the publisher signs the digest the page shows with their own tools
// (openssl, or the CLI) and pastes the signature: the same check on the server, still no key sent anywhere.
import { ApiError } from "./api.js";

let support = null;

// Whether this browser can sign with Ed25519 (asked once: generating a throwaway key is the only sure test).
export function canSignEd25519() {
  support ??= crypto.subtle
    .generateKey({ name: "Ed25519" }, false, ["sign"])
    .then(() => true)
    .catch(() => false);
  return support;
}

export async function sha256Hex(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function pemBody(text) {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) {
    throw new Error("The key file is encrypted with a passphrase; export it unencrypted (PKCS#8) to sign here.");
  }
  const found = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(text);
  if (!found) throw new Error("The key file is not a PEM private key (-----BEGIN PRIVATE KEY-----).");
  const raw = atob(found[1].replace(/\s+/g, ""));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

// The base64 signature of the digest with the key in a PEM file; the key is imported non-extractable and dropped.
export async function signDigest(keyFile, digestHex) {
  let key;
  try {
    key = await crypto.subtle.importKey("pkcs8", pemBody(await keyFile.text()), { name: "Ed25519" }, false, ["sign"]);
  } catch (err) {
    throw new Error(err instanceof DOMException ? "The key file does not hold an Ed25519 private key." : err.message);
  }
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, new TextEncoder().encode(digestHex));
  return base64(new Uint8Array(signature));
}

const base64 = (bytes) => btoa(String.fromCharCode(...bytes));

// A new key pair made in this browser: the public half (raw, base64) to register, and the private half as PKCS#8
// PEM for the publisher to save, the format the key file input and the CLI read.
export async function newKeyPair() {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const pem = `-----BEGIN PRIVATE KEY-----\n${base64(pkcs8).match(/.{1,64}/g).join("\n")}\n-----END PRIVATE KEY-----\n`;
  return { publicKey: base64(raw), pem };
}

// The artifact store's own words from its XML error answer (text only, never markup).
function storeMessage(xml) {
  const doc = new DOMParser().parseFromString(xml || "", "application/xml");
  const message = doc.querySelector("Message");
  return message ? message.textContent : (xml || "").slice(0, 200);
}

// PUT the zip to the presigned URL (another origin, allowed by the console's CSP and the bucket's CORS rule),
// reporting progress: XMLHttpRequest, because fetch() tells nothing about an upload's progress.
export function uploadWithProgress(ticket, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(ticket.method || "PUT", ticket.url);
    for (const [name, value] of Object.entries(ticket.headers || {})) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (e) => e.lengthComputable && onProgress(e.loaded, e.total));
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve();
      } else {
        reject(new ApiError(xhr.status, { title: "The artifact store refused the upload", detail: storeMessage(xhr.responseText) }));
      }
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, { title: "The artifact store cannot be reached", detail: `The upload to ${new URL(ticket.url).origin} failed before an answer.` })),
    );
    xhr.send(file);
  });
}
