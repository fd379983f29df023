/**
 * Redaction lives in ./redact/ (rules, JSON, forms, multipart, headers); this file keeps the old
 * import path working for the modules that still use it.
 */
export * from './redact/index.js';
