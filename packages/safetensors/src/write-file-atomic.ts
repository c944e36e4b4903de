import type { FileHandle } from "node:fs/promises";
import { nodeCrypto, nodeFsPromises, nodePath } from "./node-builtins";

/**
 * Temporary files are named `.<target name>.<pid>.<12 hex digits>.tmp`: hidden, next to the target,
 * and naming the process that writes them.
 */
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/** Whether process `pid` exists (on this machine). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === "EPERM";
  }
}

/**
 * Removes the temporary files in `dir` that a process killed outright (SIGKILL, power loss) left
 * behind: those whose process no longer exists. Best effort; errors are ignored.
 */
export async function removeStaleTempFiles(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await nodeFsPromises().readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(TEMP_NAME.exec(name)?.[1] ?? Number.NaN);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processExists(pid)) continue;
    await nodeFsPromises()
      .rm(nodePath().join(dir, name), { force: true })
      .catch(() => undefined);
  }
}

/** Bytes written between two background `fdatasync` calls (early write-back; see {@link AtomicFile}). */
const WRITE_BACK_BYTES = 128 * 1024 * 1024;

/**
 * A file being written under a temporary name in the target's directory. `commit()` flushes it
 * to disk (fsync) and renames it over the target in one step; `abort()` deletes it. Until
 * `commit()` returns, the target keeps its old content (or stays absent).
 *
 * Writes may run concurrently (positioned). Every {@link WRITE_BACK_BYTES} written, an `fdatasync`
 * starts in the background (one at a time, on libuv's threadpool), so the disk works while the file
 * is still being produced and the final fsync has little left to flush. `flush()` then `publish()`
 * split `commit()` for callers that must finish several files before renaming any.
 */
export class AtomicFile {
  private state: "open" | "flushed" | "done" = "open";
  private unsynced = 0;
  private writeBack: Promise<void> | null = null;
  private writeBackError: unknown = null;

  private constructor(
    /** The final path. */
    readonly path: string,
    /** The temporary path being written. */
    readonly tempPath: string,
    /** Handle on the temporary file, open for writing. */
    readonly handle: FileHandle,
  ) {}

  /**
   * Creates the temporary file next to `path` (same directory, so the rename is atomic), after
   * removing that directory's stale temporary files ({@link removeStaleTempFiles}).
   */
  static async create(path: string): Promise<AtomicFile> {
    await removeStaleTempFiles(nodePath().dirname(nodePath().resolve(path)));
    const tempPath = nodePath().join(
      nodePath().dirname(path),
      `.${nodePath().basename(path)}.${process.pid}.${nodeCrypto().randomBytes(6).toString("hex")}.tmp`,
    );
    const handle = await nodeFsPromises().open(tempPath, "wx");
    return new AtomicFile(path, tempPath, handle);
  }

  /** Writes all of `data` at `position`, looping over short writes. */
  async writeAt(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      if (bytesWritten <= 0) throw new Error(`write to ${this.tempPath} made no progress`);
      done += bytesWritten;
    }
    this.unsynced += data.length;
    if (this.unsynced >= WRITE_BACK_BYTES && this.writeBack === null && this.state === "open") {
      this.unsynced = 0;
      this.writeBack = this.handle.datasync().then(
        () => {
          this.writeBack = null;
        },
        (error: unknown) => {
          this.writeBack = null;
          this.writeBackError ??= error;
        },
      );
    }
  }

  /** fsyncs the data and closes the file (the temporary name stays until `publish()`). */
  async flush(): Promise<void> {
    if (this.state !== "open") throw new Error(`${this.path}: atomic write already finished`);
    this.state = "flushed";
    try {
      await this.writeBack;
      if (this.writeBackError !== null) throw this.writeBackError;
      await this.handle.sync();
      await this.handle.close();
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  /** Renames the flushed file over the target and makes the rename durable. */
  async publish(): Promise<void> {
    if (this.state !== "flushed") throw new Error(`${this.path}: publish() needs a flushed file`);
    try {
      await nodeFsPromises().rename(this.tempPath, this.path);
    } catch (error) {
      await this.discard();
      throw error;
    }
    this.state = "done";
    await syncDirectory(nodePath().dirname(this.path));
  }

  /** fsyncs the data, closes the file and renames it over the target. */
  async commit(): Promise<void> {
    await this.flush();
    await this.publish();
  }

  /** Closes and deletes the temporary file; the target is left untouched. Safe to call twice. */
  async abort(): Promise<void> {
    if (this.state === "done") return;
    await this.discard();
  }

  private async discard(): Promise<void> {
    this.state = "done";
    await this.writeBack?.catch(() => undefined);
    await this.handle.close().catch(() => undefined);
    await nodeFsPromises()
      .rm(this.tempPath, { force: true })
      .catch(() => undefined);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable where the platform allows it (not on Windows).
  let handle: FileHandle | undefined;
  try {
    handle = await nodeFsPromises().open(dir, "r");
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Writes `data` to `path` atomically: into a temporary file in the same directory, fsynced,
 * then renamed over `path`. A failure at any point removes the temporary file and leaves any
 * previous `path` intact; a partial file is never visible under `path`.
 *
 * @throws the underlying Node.js error (with its `code`, e.g. `ENOENT` for a missing directory).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const file = await AtomicFile.create(path);
  try {
    await file.writeAt(bytes, 0);
  } catch (error) {
    await file.abort();
    throw error;
  }
  await file.commit();
}
