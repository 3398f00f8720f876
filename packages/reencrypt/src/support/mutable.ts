/**
 * `Mutable<T>`: `T` without `readonly`, for building a value one optional property at a time
 * (`if (x) out.x = x`), which keeps one hidden class per set of properties where a literal that
 * begins with a spread would make a new one on every call (see eslint.config.js).
 */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
