// Error codes of segments and deliveries (セグメント配信). Part of the public API.
import { defineErrorCodes } from '../errors.js';

export const DeliveryCodes = defineErrorCodes({
  /** A condition names a field that the tenant does not have (or no longer has). */
  UNKNOWN_FIELD: { status: 400, retryable: false },
  /** The operator does not apply to the field's type (e.g. `contains` on a number, `gt` on a date). */
  OPERATOR_NOT_ALLOWED: { status: 400, retryable: false },
  /** A condition's value does not fit its operator and field type, or the conditions are too many / none. */
  INVALID_CONDITION: { status: 400, retryable: false },
  /** The LINE message objects are not sendable (count, type, text length, missing properties). */
  INVALID_MESSAGE: { status: 400, retryable: false },
  /** The tenant has no LINE channel access token, so nothing can be sent; set it with `kizuna tenant update`. */
  LINE_NOT_CONFIGURED: { status: 422, retryable: false },
  /** The segment has a delivery waiting or sending; cancel it or let it finish before deleting the segment. */
  SEGMENT_IN_USE: { status: 409, retryable: false },
  /** Only a queued (not yet started) delivery can be canceled. */
  DELIVERY_NOT_CANCELABLE: { status: 409, retryable: false },
  /** The delivery's segment was deleted before sending started. */
  SEGMENT_DELETED: { status: 409, retryable: false },
  /**
   * A batch was handed to LINE more than 23 hours ago without a recorded answer. LINE forgets retry keys after 24 hours, so
   * sending it again could deliver twice; its recipients are counted as failed instead.
   */
  DELIVERY_OUTCOME_UNKNOWN: { status: 502, retryable: false },
  /** Another worker is executing this delivery right now; the job tries again later. */
  DELIVERY_BUSY: { status: 409, retryable: true },
});
