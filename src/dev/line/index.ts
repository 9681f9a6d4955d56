// The development LINE Platform: start it, point LINE_API_ORIGIN at its origin.
export { startFakeLine, type FakeChannel, type FakeChannelInput, type FakeLine, type FakeLineOptions, type FakeProfile, type Fault, type LoggedRequest, type ReceivedSend } from './server.js';
export { followEvent, textMessageEvent, unfollowEvent, type WebhookEventInput } from './events.js';
