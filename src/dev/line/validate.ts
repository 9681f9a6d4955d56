// The request-body checks LINE's Messaging API applies to sends, with LINE's way of reporting them: a 400 whose body is
// {"message": "The request body has N error(s)", "details": [{"message", "property"}]}.

export interface BodyProblem {
  message: string;
  property: string;
}

const MESSAGE_TYPES = ['text', 'sticker', 'image', 'video', 'audio', 'location', 'imagemap', 'template', 'flex', 'textV2'];
export const USER_ID = /^U[0-9a-f]{32}$/;
const PUSH_TARGET = /^[UCR][0-9a-f]{32}$/;

export function checkSend(kind: 'push' | 'multicast', body: unknown): BodyProblem[] {
  const b = (body && typeof body === 'object' ? body : {}) as { to?: unknown; messages?: unknown };
  const problems: BodyProblem[] = [];
  if (kind === 'push') {
    if (typeof b.to !== 'string' || !b.to) problems.push({ message: 'Must not be empty', property: 'to' });
    else if (!PUSH_TARGET.test(b.to)) problems.push({ message: 'The property, \'to\', in the request body is invalid', property: 'to' });
  } else if (!Array.isArray(b.to) || b.to.length < 1 || b.to.length > 500) {
    problems.push({ message: 'Size must be between 1 and 500', property: 'to' });
  } else {
    b.to.forEach((to, i) => {
      if (typeof to !== 'string' || !USER_ID.test(to)) problems.push({ message: 'Invalid user ID', property: `to[${i}]` });
    });
  }
  if (!Array.isArray(b.messages) || b.messages.length < 1 || b.messages.length > 5) {
    problems.push({ message: 'Size must be between 1 and 5', property: 'messages' });
    return problems;
  }
  b.messages.forEach((m: unknown, i) => {
    const msg = (m && typeof m === 'object' ? m : {}) as { type?: unknown; text?: unknown };
    if (typeof msg.type !== 'string' || !MESSAGE_TYPES.includes(msg.type)) {
      problems.push({ message: `Must be one of the following values: [${MESSAGE_TYPES.join(', ')}]`, property: `messages[${i}].type` });
    } else if (msg.type === 'text' || msg.type === 'textV2') {
      if (typeof msg.text !== 'string' || msg.text.length === 0) problems.push({ message: 'Must not be empty', property: `messages[${i}].text` });
      else if ([...msg.text].length > 5000) problems.push({ message: 'Length must be between 0 and 5000', property: `messages[${i}].text` });
    }
  });
  return problems;
}
