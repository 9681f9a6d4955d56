// Everything Kizuna's routes and jobs need to talk to LINE, from one import.
export { LineApiError, LineCodes, type LineCode, type LineErrorDetails } from './errors.js';
export { signLineBody, verifyLineSignature } from './signature.js';
export { parseLineWebhook, type LineEvent, type LineFollowEvent, type LineIgnoredEvent, type LineMessageEvent, type LineSource, type LineUnfollowEvent, type LineWebhook } from './webhook.js';
export { MessagingApi, MULTICAST_MAX_RECIPIENTS, MAX_MESSAGES_PER_REQUEST, type LineMessage, type LineProfile, type MessagingApiOptions, type MulticastBatch, type PushResult } from './messaging.js';
export { verifyIdToken, type VerifiedIdToken, type VerifyIdTokenOptions } from './login.js';
export { renderLiffEmailPage, liffMessages, liffMessageForCode, liffMessageKeyForCode, liffSdkBundle, liffSdkPath, liffSdkVersion, type LiffEmailPageOptions, type LiffMessageKey } from './liff-page.js';
