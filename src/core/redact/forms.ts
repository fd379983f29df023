/** Form-encoded bodies: a JSON object of their fields, redacted by the same JSONPath rules. */
import { setOwn } from '../own.js';
import { serialise, type BodyRedaction } from './body.js';
import type { Rule } from './rules.js';
import { redactValue } from './walk.js';

export type FormFields = Record<string, string | string[]>;
/** The fields of a form body; a repeated key keeps all its values, in order. */
export function formFields(body: Buffer): FormFields {
  const fields: FormFields = {};
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) {
    const previous = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (previous === undefined) setOwn(fields, key, value);
    else if (Array.isArray(previous)) previous.push(value);
    else setOwn(fields, key, [previous, value]);
  }
  return fields;
}

/** A form body as the JSON object of its fields, redacted. */
export function redactForm(body: Buffer, rules: readonly Rule[]): BodyRedaction {
  return serialise(redactValue(formFields(body), rules, undefined));
}
