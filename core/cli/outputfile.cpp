#include "core/cli/outputfile.h"

#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

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

}
