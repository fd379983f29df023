/**
 * Pub/Sub's REST API as any client speaks it (plain `fetch`, no SDK code): for the tests that talk
 * to the local collector or the emulator directly.
 */

/** `projects/apitoolkit-local/topics/apitoolkit-local`: the collector's default topic. */
export const LOCAL_TOPIC = 'projects/apitoolkit-local/topics/apitoolkit-local';

/** One call: `METHOD http://endpoint/v1/{path}` with a JSON body; the status and the parsed answer. */
export async function restCall(
  endpoint: string,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`http://${endpoint}/v1/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    ...(signal === undefined ? {} : { signal }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the text
  }
  return { status: response.status, body: parsed };
}

/** `topics.publish` of these messages (data as bytes, base64-encoded here). */
export function restPublish(
  endpoint: string,
  messages: Array<{ data: Buffer | string; attributes?: Record<string, string> }>,
  topic = LOCAL_TOPIC,
  signal?: AbortSignal,
): Promise<{ status: number; body: any }> {
  const encoded = messages.map(({ data, attributes }) => ({
    data: Buffer.from(data).toString('base64'),
    ...(attributes === undefined ? {} : { attributes }),
  }));
  return restCall(endpoint, 'POST', `${topic}:publish`, { messages: encoded }, signal);
}

/** Publishes one record as JSON; resolves with its message id, rejects on anything but 200. */
export async function publishRecord(endpoint: string, record: unknown, topic = LOCAL_TOPIC): Promise<string> {
  const { status, body } = await restPublish(endpoint, [{ data: JSON.stringify(record) }], topic);
  if (status !== 200) throw new Error(`publish answered HTTP ${status}: ${JSON.stringify(body)}`);
  return (body as { messageIds: string[] }).messageIds[0]!;
}
