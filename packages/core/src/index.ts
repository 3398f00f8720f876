/** @rekey/core: envelope encryption on AWS KMS with rewrappable data keys. */
export const PACKAGE = "@rekey/core";
