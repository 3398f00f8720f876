/** @rekey/reencrypt: the batch job that moves stored data onto current key material. */
export const PACKAGE = "@rekey/reencrypt";
