#include "ui/exportdialog.h"

#include "core/capture/captureexport.h"
#include "core/capture/capturereader.h"
#include "core/cli/outputfile.h"
#include "core/session/eventlog.h"

#include <QBuffer>
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QDir>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>

namespace deltascope::ui {

namespace {
constexpr qsizetype kPreviewBytes = 64 * 1024;
}

ExportDialog::ExportDialog(const Capture& capture, qint64 currentEvent, QWidget* parent)
    : QDialog(parent)
    , m_capture(capture)
{
    setWindowTitle(tr("Export %1").arg(QFileInfo(capture.path).fileName()));
    setObjectName(QStringLiteral("exportDialog"));
    auto* layout = new QVBoxLayout(this);
    auto* form = new QFormLayout;
    m_format = new QComboBox(this);
    m_format->setObjectName(QStringLiteral("exportFormat"));
    m_format->addItem(tr("HAR with WebSocket messages (Chrome DevTools, HTTP Toolkit)"));
    m_format->addItem(tr("NDJSON delta log (per stream item: seq, data, changed paths)"));
    m_format->addItem(tr("Markdown bug report (incidents, anomalies, timeline excerpt, document before/after)"));
    m_format->addItem(tr("Trimmed capture of the range (opens on its own)"));
    form->addRow(tr("Format"), m_format);

    const qint64 last = std::max<qint64>(0, capture.log->size() - 1);
    auto* range = new QHBoxLayout;
    m_from = new QSpinBox(this);
    m_from->setObjectName(QStringLiteral("exportFrom"));
    m_to = new QSpinBox(this);
    m_to->setObjectName(QStringLiteral("exportTo"));
    for (QSpinBox* box : { m_from, m_to })
        box->setRange(0, int(std::min<qint64>(last, std::numeric_limits<int>::max())));
    m_from->setValue(0);
    m_to->setValue(m_to->maximum());
    range->addWidget(m_from);
    range->addWidget(new QLabel(tr("to"), this));
    range->addWidget(m_to);
    auto* fromHere = new QPushButton(tr("From the current event"), this);
    connect(fromHere, &QPushButton::clicked, this, [this, currentEvent] { m_from->setValue(int(std::max<qint64>(0, currentEvent))); });
    auto* toHere = new QPushButton(tr("To the current event"), this);
    connect(toHere, &QPushButton::clicked, this, [this, currentEvent] { m_to->setValue(int(std::max<qint64>(0, currentEvent))); });
    fromHere->setEnabled(currentEvent >= 0);
    toHere->setEnabled(currentEvent >= 0);
    range->addWidget(fromHere);
    range->addWidget(toHere);
    form->addRow(tr("Events"), range);

    m_redact = new QCheckBox(tr("Redact identity tokens and these JSON paths:"), this);
    m_redact->setObjectName(QStringLiteral("exportRedact"));
    m_redact->setChecked(true);
    m_paths = new QLineEdit(this);
    m_paths->setObjectName(QStringLiteral("exportRedactPaths"));
    m_paths->setPlaceholderText(tr("comma-separated, '*' for one segment: players/*/email, message/password"));
    form->addRow(m_redact, m_paths);
    layout->addLayout(form);

    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("exportSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_summary);
    m_preview = new QPlainTextEdit(this);
    m_preview->setObjectName(QStringLiteral("exportPreview"));
    m_preview->setReadOnly(true);
    m_preview->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_preview->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    layout->addWidget(m_preview, 1);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    QPushButton* exportButton = buttons->addButton(tr("Export\u2026"), QDialogButtonBox::AcceptRole);
    exportButton->setObjectName(QStringLiteral("exportButton"));
    connect(exportButton, &QPushButton::clicked, this, &ExportDialog::chooseFileAndExport);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);

    // The preview follows every change, after a short pause so typing a path stays smooth.
    m_previewTimer = new QTimer(this);
    m_previewTimer->setSingleShot(true);
    m_previewTimer->setInterval(300);
    connect(m_previewTimer, &QTimer::timeout, this, &ExportDialog::refreshPreview);
    const auto schedule = [this] { m_previewTimer->start(); };
    connect(m_format, &QComboBox::currentIndexChanged, this, schedule);
    connect(m_from, &QSpinBox::valueChanged, this, schedule);
    connect(m_to, &QSpinBox::valueChanged, this, schedule);
    connect(m_redact, &QCheckBox::toggled, this, schedule);
    connect(m_redact, &QCheckBox::toggled, m_paths, &QWidget::setEnabled);
    connect(m_paths, &QLineEdit::textChanged, this, schedule);
    resize(900, 600);
    schedule();
}

void ExportDialog::setFormat(Format format) { m_format->setCurrentIndex(int(format)); }
ExportDialog::Format ExportDialog::format() const { return Format(m_format->currentIndex()); }

void ExportDialog::setRange(qint64 from, qint64 to)
{
    m_from->setValue(int(from));
    m_to->setValue(int(to));
}

void ExportDialog::setRedaction(bool on, const QStringList& paths)
{
    m_redact->setChecked(on);
    m_paths->setText(paths.join(QStringLiteral(", ")));
}

QStringList ExportDialog::redactPaths() const
{
    QStringList paths;
    for (const QString& part : m_paths->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QString path = part.trimmed();
        if (!path.isEmpty())
            paths << path;
    }
    return paths;
}

QString ExportDialog::suggestedSuffix(Format format)
{
    switch (format) {
    case Format::Har:
        return QStringLiteral(".har");
    case Format::DeltaLog:
        return QStringLiteral(".deltas.ndjson");
    case Format::Markdown:
        return QStringLiteral(".md");
    case Format::TrimmedCapture:
        return QStringLiteral(".trimmed.ndjson");
    }
    return {};
}

ExportResult ExportDialog::run(QIODevice& out) const
{
    ExportOptions options;
    options.from = std::min(m_from->value(), m_to->value());
    options.to = std::max(m_from->value(), m_to->value());
    options.redact = m_redact->isChecked();
    options.redactPaths = redactPaths();
    return exportCapture(m_capture, format(), options, out);
}

QStringList ExportDialog::refreshPreview()
{
    m_previewTimer->stop();
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    const ExportResult result = run(buffer);
    if (!result.ok) {
        m_summary->setText(tr("This export cannot be written: %1").arg(result.error));
        m_preview->clear();
        return { result.error };
    }
    const QStringList& redacted = result.redacted;
    QString summary;
    if (!m_redact->isChecked())
        summary = tr("Redaction is OFF: identity tokens and every value stay as recorded.");
    else if (!result.replacedAnything)
        summary = tr("Nothing to redact in this range (no identity token, URL secret or password found, no listed path matched).");
    else
        summary = tr("Will be redacted (shown as \"[redacted]\"): %1").arg(redacted.join(QStringLiteral("; ")));
    summary += tr("\n%1 bytes, %2 events or messages written.").arg(buffer.size()).arg(result.events);
    m_summary->setText(summary);
    QByteArray head = buffer.data().left(kPreviewBytes);
    QString text = QString::fromUtf8(head);
    if (buffer.size() > kPreviewBytes)
        text += tr("\n\u2026 (%1 more bytes)").arg(buffer.size() - kPreviewBytes);
    m_preview->setPlainText(text);
    return redacted;
}

QString ExportDialog::previewText() const { return m_preview->toPlainText(); }
QString ExportDialog::summaryText() const { return m_summary->text(); }

QString ExportDialog::exportTo(const QString& path)
{
    QString exportError;
    const auto write = [this, &exportError](QIODevice& device, QString*) {
        const ExportResult result = run(device);
        exportError = result.error;
        return result.ok;
    };
    QString error;
    if (cli::writeOutputFile(path, write, &error)) {
        const Format written = format();
        const QString what = written == Format::Har ? tr("a HAR")
            : written == Format::DeltaLog           ? tr("an NDJSON delta log")
            : written == Format::Markdown           ? tr("a Markdown bug report")
                                                    : tr("a trimmed capture");
        m_writtenSummary = tr("Exported %1, %2 bytes, to %3")
                               .arg(what)
                               .arg(QLocale().toString(QFileInfo(path).size()))
                               .arg(QDir::toNativeSeparators(QFileInfo(path).absoluteFilePath()));
        return {};
    }
    return exportError.isEmpty() ? tr("cannot write '%1': %2").arg(path, error) : exportError;
}

void ExportDialog::chooseFileAndExport()
{
    const QString base = QFileInfo(m_capture.path).completeBaseName();
    const QString suggested = QFileInfo(m_capture.path).absolutePath() + QLatin1Char('/') + base + suggestedSuffix(format());
    const QString path = QFileDialog::getSaveFileName(this, tr("Export to"), suggested);
    if (path.isEmpty())
        return;
    const QString error = exportTo(path);
    if (!error.isEmpty()) {
        QMessageBox::warning(this, tr("Export failed"), tr("The export was not written: %1").arg(error));
        return;
    }
    accept();
}

}
