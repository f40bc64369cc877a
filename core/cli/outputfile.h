#pragma once

#include <QString>

#include <functional>

class QIODevice;

namespace deltascope::cli {

// Writes the file at `path` with `write`, which returns false (and may set its error) when it fails.
// A regular file (or a new one) is written atomically: into a temporary file renamed over it on
// success, so a failed write leaves the old file as it was. A device, pipe or socket (/dev/null,
// /dev/stdout, a FIFO) is written in place: renaming over it would replace the device with a
// plain file, which root may do even in /dev. Returns false with `error` naming what failed.
bool writeOutputFile(const QString& path, const std::function<bool(QIODevice& device, QString* error)>& write, QString* error);

// Why a file could not be written at `path` later (no such folder, a folder there, a folder not
// writable), or empty: for outputs written at the end of a long run, checked before it starts.
QString outputPathProblem(const QString& path);

// The refusal to write over `path` without --overwrite, naming `option`, when a file that is not
// empty is there (a recording cannot be made again); empty when it may be written. `what` says what
// the file is when the caller has looked ("a capture"); else its size is named.
QString existingFileProblem(const QString& option, const QString& path, const QString& what = {});

// Whether `output` names the file `input` is (through a symbolic link, another spelling of the
// path, or a hard link): a command writing there would destroy what it reads.
bool isSameFile(const QString& output, const QString& input);

}
