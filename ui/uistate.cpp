#include "ui/uistate.h"

#include <QHeaderView>
#include <QMainWindow>
#include <QSettings>
#include <QSplitter>

namespace deltascope::ui {

namespace {
QString keyFor(const QString& kind, const QString& name)
{
    const bool layout = kind == QLatin1String("window") || kind == QLatin1String("splitter");
    return QStringLiteral("ui/v%1/%2/%3").arg(layout ? UiState::kLayoutVersion : UiState::kViewStateVersion).arg(kind, name);
}
}

void UiState::restore(QMainWindow* window)
{
    QSettings settings;
    window->restoreGeometry(settings.value(keyFor(QStringLiteral("window"), QStringLiteral("geometry"))).toByteArray());
    window->restoreState(settings.value(keyFor(QStringLiteral("window"), QStringLiteral("state"))).toByteArray(), kLayoutVersion);
}

void UiState::save(const QMainWindow* window)
{
    QSettings settings;
    settings.setValue(keyFor(QStringLiteral("window"), QStringLiteral("geometry")), window->saveGeometry());
    settings.setValue(keyFor(QStringLiteral("window"), QStringLiteral("state")), window->saveState(kLayoutVersion));
}

void UiState::restore(QSplitter* splitter, const QString& name)
{
    splitter->restoreState(QSettings().value(keyFor(QStringLiteral("splitter"), name)).toByteArray());
}

void UiState::save(const QSplitter* splitter, const QString& name)
{
    QSettings().setValue(keyFor(QStringLiteral("splitter"), name), splitter->saveState());
}

void UiState::restore(QHeaderView* header, const QString& name)
{
    header->restoreState(QSettings().value(keyFor(QStringLiteral("header"), name)).toByteArray());
}

void UiState::save(const QHeaderView* header, const QString& name)
{
    QSettings().setValue(keyFor(QStringLiteral("header"), name), header->saveState());
}

QVariantMap UiState::restoreColumnChoices(const QString& name)
{
    return QSettings().value(keyFor(QStringLiteral("columns"), name)).toMap();
}

void UiState::saveColumnChoices(const QString& name, const QVariantMap& choices)
{
    QSettings settings;
    if (choices.isEmpty())
        settings.remove(keyFor(QStringLiteral("columns"), name));
    else
        settings.setValue(keyFor(QStringLiteral("columns"), name), choices);
}

}
