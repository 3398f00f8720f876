/**
 * The S3 service of the emulator: routes each request to its operation, asks the fault
 * injector, runs the handler, and turns every failure into an S3 error answer. Nothing a
 * client sends can throw out of `handle` or leave the connection hanging.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EmulatorClock, FaultGate, ServiceHandler } from "../contracts.js";
import { BlobStore } from "./blobs.js";
import { drain } from "./body.js";
import {
  createBucket,
  deleteBucket,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
  putBucketVersioning,
} from "./buckets.js";
import type { S3Handler } from "./context.js";
import { S3Control } from "./control.js";
import { copyObject } from "./copy.js";
import { deleteObjects } from "./delete-objects.js";
import { S3Error } from "./errors.js";
import { listObjects, listObjectsV2, listObjectVersions } from "./listing.js";
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
} from "./multipart.js";
import { deleteObject, getObject, headObject, putObject } from "./objects.js";
import { listParts, uploadPart, uploadPartCopy } from "./parts.js";
import { newRequestId, sendError } from "./response.js";
import type { ResponseContext } from "./response.js";
import { locate, routeRequest } from "./router.js";
import type { S3Operation } from "./router.js";
import { S3Store } from "./store.js";
import { deleteObjectTagging, getObjectTagging, putObjectTagging } from "./tagging.js";

const HANDLERS: Readonly<Record<S3Operation, S3Handler>> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  HeadBucket: headBucket,
  DeleteBucket: deleteBucket,
  GetBucketLocation: getBucketLocation,
  PutBucketVersioning: putBucketVersioning,
  GetBucketVersioning: getBucketVersioning,
  ListObjects: listObjects,
  ListObjectsV2: listObjectsV2,
  ListObjectVersions: listObjectVersions,
  ListMultipartUploads: listMultipartUploads,
  DeleteObjects: deleteObjects,
  PutObject: putObject,
  CopyObject: copyObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  PutObjectTagging: putObjectTagging,
  GetObjectTagging: getObjectTagging,
  DeleteObjectTagging: deleteObjectTagging,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPartCopy,
  ListParts: listParts,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
};

/** Request headers of features the emulator does not model; refused rather than ignored. */
const UNSUPPORTED_HEADERS = [
  "x-amz-server-side-encryption-customer-algorithm",
  "x-amz-copy-source-server-side-encryption-customer-algorithm",
  "x-amz-object-lock-mode",
  "x-amz-object-lock-retain-until-date",
  "x-amz-object-lock-legal-hold",
];

/** Options of {@link createS3Service}. */
export interface S3ServiceOptions {
  /** Directory for object bytes; the service keeps them in a private subdirectory it removes on close. */
  readonly dataDir: string;
  /** Consulted once per request, after the operation is known. */
  readonly faults: FaultGate;
  /** Source of `Last-Modified`, upload initiation times and the `Date` header. */
  readonly clock: EmulatorClock;
  /**
   * Per-bucket behaviour modes and listeners awaited before each operation.
   * @default a fresh {@link S3Control}: every bucket behaves as S3, no listeners
   */
  readonly control?: S3Control;
}

/**
 * The emulator's S3: REST XML, path-style (`http://host:port/bucket/key`), as the AWS SDK sends
 * it with `forcePathStyle: true`. Object bytes are streamed to files under `dataDir`; everything
 * else is in memory.
 *
 * @example
 * ```ts
 * const s3 = createS3Service({ dataDir, faults, clock, control: new S3Control() });
 * http.createServer((req, res) => void s3.handle(req, res)).listen(0);
 * ```
 */
export function createS3Service(options: S3ServiceOptions): ServiceHandler {
  const blobs = new BlobStore(options.dataDir);
  const store = new S3Store(blobs);
  const control = options.control ?? new S3Control();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const response: ResponseContext = {
      res,
      requestId: newRequestId(),
      now: options.clock.now(),
      isHead: req.method === "HEAD",
    };
    let resource = "/";
    try {
      resource = locate(req).resource;
    } catch {
      // A path that does not decode is reported by routeRequest below.
    }
    try {
      const route = routeRequest(req);
      const unsupported =
        UNSUPPORTED_HEADERS.find((name) => req.headers[name] !== undefined) ??
        (req.headers["x-amz-bucket-object-lock-enabled"]?.toString().toLowerCase() === "true"
          ? "x-amz-bucket-object-lock-enabled"
          : undefined);
      if (unsupported !== undefined) {
        throw new S3Error("NotImplemented", {
          message: `The ${unsupported} header is not implemented by the emulator.`,
          details: { Header: unsupported },
        });
      }
      const fault = await options.faults.before("s3", route.operation);
      if (fault.kind === "error") {
        throw new S3Error({ code: fault.code, status: fault.status, message: fault.message });
      }
      // Awaited before the handler reads or changes any state, so what a listener writes is
      // what the operation sees.
      await control.notify(req, route);
      const behavior = control.behaviorOf(route.bucket);
      if (route.operation === "UploadPartCopy" && behavior.uploadPartCopy === "missing") {
        throw new S3Error("NotImplemented", {
          message: "UploadPartCopy is not implemented by this store.",
        });
      }
      await HANDLERS[route.operation]({
        ...response,
        req,
        route,
        store,
        blobs,
        clock: options.clock,
        behavior,
      });
    } catch (error) {
      // Whatever is left of the body is read and dropped before answering, so the client can
      // finish sending and the connection stays usable.
      await drain(req);
      const s3Error =
        error instanceof S3Error
          ? error
          : new S3Error("InternalError", {
              message: `We encountered an internal error: ${error instanceof Error ? error.message : String(error)}`,
            });
      if (!res.headersSent && !res.destroyed) {
        sendError(response, s3Error, resource);
      } else if (!res.writableEnded) {
        // Headers are out: no error document can follow, so end the exchange visibly.
        res.destroy();
      }
    }
  }

  return {
    matches(req) {
      const target = req.headers["x-amz-target"];
      return !(typeof target === "string" && target.startsWith("TrentService."));
    },
    handle,
    async close() {
      store.clear();
      await blobs.close();
    },
  };
}
