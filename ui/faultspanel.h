#pragma once

#include <QHash>
#include <QWidget>

class QComboBox;
class QLabel;
class QListWidget;
class QPushButton;
class QSpinBox;

namespace deltascope::ui {

class FlowLayout;
class LiveController;

// One click for each common fault on the live session, ready and file plans, and a log of what
// was injected. The buttons act through the LiveController's fault proxy; when faults are not
// possible the panel says why instead of offering buttons that do nothing.
class FaultsPanel : public QWidget
{
    Q_OBJECT
public:
    explicit FaultsPanel(LiveController* live, QWidget* parent = nullptr);

    // The fault buttons by name, for shortcuts and tests: "drop", "drop-fin", "stall", "latency",
    // "bandwidth", "version-mismatch", "redeploy", "silent-delta-drop", "clear".
    QPushButton* button(const QString& name) const;
    QSpinBox* stallSeconds() const { return m_stallSeconds; }
    QComboBox* planChoice() const { return m_planChoice; }
    QListWidget* log() const { return m_log; }
    QLabel* availability() const { return m_availability; }

    // Injects a fault the way its button does. Returns false with the reason shown in the panel.
    bool trigger(const QString& name);
    bool runSelectedPlan();
    // The buttons are offered only while the connection is open (greyed out, their tooltips saying
    // why, while there is none or it connects or reconnects); Clear all faults whenever the
    // session takes faults. Follows the live controller's session and state.
    void updateAvailability();
    QSize minimumSizeHint() const override; // as tall as the faults wrapped at this width
    QSize sizeHint() const override; // wide enough for the faults on three lines

Q_SIGNALS:
    // A fault or plan could not be applied: what happened and what to try.
    void errorOccurred(const QString& what, const QString& whatToTry);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    QPushButton* addButton(const QString& name, const QString& text, const QString& tip);
    int threeLineWidth() const; // the narrowest width that keeps the faults to three lines
    void appendLog(const QString& line);

    LiveController* m_live;
    QHash<QString, QPushButton*> m_buttons;
    QHash<QString, QString> m_tips; // each button's tooltip while it can act, by name ("run-plan" too)
    QSpinBox* m_stallSeconds = nullptr;
    QSpinBox* m_latencyMs = nullptr;
    QSpinBox* m_jitterMs = nullptr;
    QSpinBox* m_bandwidthKiB = nullptr;
    QComboBox* m_planChoice = nullptr;
    QPushButton* m_runPlan = nullptr;
    QPushButton* m_stopPlan = nullptr;
    QLabel* m_planState = nullptr;
    QLabel* m_availability = nullptr;
    QListWidget* m_log = nullptr;
    FlowLayout* m_faultsFlow = nullptr;
};

}
