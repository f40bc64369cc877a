#include "core/cli/outputfile.h"

#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <sys/stat.h>

namespace deltascope::cli {

namespace {
template<typename File>
bool failWith(File& file, const QString& writeError, QString* error)
{
    if (error)
        *error = writeError.isEmpty() ? file.errorString() : writeError;
    return false;
}
}

bool writeOutputFile(const QString& path, const std::function<bool(QIODevice&, QString*)>& write, QString* error)
{
    const QFileInfo info(path);
    QString writeError;
    if (info.exists() && !info.isFile() && !info.isDir()) {
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly))
            return failWith(file, {}, error);
        if (!write(file, &writeError) || !file.flush() || file.error() != QFileDevice::NoError)
            return failWith(file, writeError, error);
        file.close();
        if (file.error() != QFileDevice::NoError)
            return failWith(file, {}, error);
        return true;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return failWith(file, {}, error);
    if (!write(file, &writeError)) {
        file.cancelWriting();
        return failWith(file, writeError, error);
    }
    if (!file.commit())
        return failWith(file, {}, error);
    return true;
}

bool isSameFile(const QString& output, const QString& input)
{
    const QFileInfo out(output);
    const QFileInfo in(input);
    if (!out.exists() || !in.exists())
        return out.absoluteFilePath() == in.absoluteFilePath();
    if (out.canonicalFilePath() == in.canonicalFilePath())
        return true;
    // Hard links: two names, one file.
    struct stat outStat {};
    struct stat inStat {};
    return ::stat(QFile::encodeName(output).constData(), &outStat) == 0 && ::stat(QFile::encodeName(input).constData(), &inStat) == 0
        && outStat.st_dev == inStat.st_dev && outStat.st_ino == inStat.st_ino;
}

QString existingFileProblem(const QString& option, const QString& path, const QString& what)
{
    const QFileInfo existing(path);
    if (path.isEmpty() || !existing.exists() || !existing.isFile() || existing.size() == 0)
        return {};
    const QString found = what.isEmpty() ? QStringLiteral("exists (%1 bytes)").arg(existing.size()) : QStringLiteral("is %1").arg(what);
    return QStringLiteral("%1 %2 %3; choose another file, or add --overwrite to replace it").arg(option, path, found);
}

QString outputPathProblem(const QString& path)
{
    const QFileInfo info(path);
    if (info.isDir())
        return QStringLiteral("%1 is a folder").arg(path);
    if (info.exists() && !info.isFile())
        return {}; // a device or a pipe: written in place
    const QFileInfo folder(info.absolutePath());
    if (!folder.exists())
        return QStringLiteral("no folder %1").arg(folder.filePath());
    if (!folder.isDir())
        return QStringLiteral("%1 is not a folder").arg(folder.filePath());
    if (!folder.isWritable())
        return QStringLiteral("the folder %1 is not writable").arg(folder.filePath());
    if (info.exists() && !info.isWritable())
        return QStringLiteral("%1 is not writable").arg(path);
    return {};
}

}
